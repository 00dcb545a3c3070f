"""The ``coordination`` source: the release's own work items, read directly.

The value is the number of tasks matching the gate's ``tasks`` filter whose
status is one of ``statuses`` (``done`` when none is given). With
``reopened_fails``, a task that went done → another status (coordination's
"reopen": a TaskEvent on ``status`` from ``done``) since the window's start
is a failure of the gate whatever the count ("≥ 2 done, none reopened"):
the measurement carries a ``veto`` (soak.evaluation) naming the tasks.
No task matching the filter is no data, never a pass.

With ``tasks.plan_gates: SLUG`` the value is the number of that plan's gate
lines (coordination ``PlanGate``: "Pre-GA gates" checklists) not yet done, so
``== 0`` reads "the plan's gates are all done"; a plan without gates (or not
imported) is no data.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from coordination.models import PlanGate, Task, TaskEvent, TaskStatus
from soak.gates import GateSpec, TaskFilter
from soak.sources.base import MeasureContext, Measurement, SourceError


def describe(task_filter: TaskFilter) -> str:
    parts = []
    if task_filter.keys:
        parts.append(f"keys in {', '.join(task_filter.keys)}")
    if task_filter.track:
        parts.append(f"track {task_filter.track!r}")
    if task_filter.text:
        parts.append(f"title contains {task_filter.text!r}")
    return " and ".join(parts) or "every task"


def matching_tasks(task_filter: TaskFilter) -> QuerySet[Task]:
    if task_filter.label:
        raise SourceError("coordination tasks have no labels; filter by keys, track or text")
    tasks = Task.objects.all()
    if task_filter.keys:
        # ``PLAN:KEY`` names one plan's task (keys are unique per plan); ``KEY`` any plan's.
        wanted = Q()
        for ref in task_filter.keys:
            slug, sep, key = ref.partition(":")
            wanted |= Q(source_plan__slug=slug.lower(), key=key) if sep and slug else Q(key=ref)
        tasks = tasks.filter(wanted)
    if task_filter.track:
        tasks = tasks.filter(track__name__iexact=task_filter.track)
    if task_filter.text:
        tasks = tasks.filter(title__icontains=task_filter.text)
    return tasks.order_by("key")


def measure_plan_gates(slug: str) -> Measurement:
    """How many gate lines of plan ``slug`` are not done (no gates: no data)."""
    gates = list(
        PlanGate.objects.filter(plan__slug=slug.strip().lower())
        .order_by("order", "id")
        .values("section", "text", "done", "line")
    )
    query = f"gate lines of plan {slug!r} not done"
    if not gates:
        return Measurement(None, query, f"plan {slug!r} has no gates (or is not imported)", {})
    open_lines = [g for g in gates if not g["done"]]
    message = f"{len(gates) - len(open_lines)} of {len(gates)} gate line(s) of {slug} done"
    return Measurement(float(len(open_lines)), query, message, {"gates": gates})


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    task_filter = gate.tasks or TaskFilter()
    if task_filter.plan_gates:
        return measure_plan_gates(task_filter.plan_gates)
    statuses = gate.statuses or [TaskStatus.DONE.value]
    unknown = [s for s in statuses if s not in TaskStatus.values]
    if unknown:
        raise SourceError(
            f"unknown task status(es) {', '.join(unknown)}; use {', '.join(TaskStatus.values)}"
        )
    query = f"tasks where {describe(task_filter)}, status in {', '.join(statuses)}"
    tasks = list(matching_tasks(task_filter).values("pk", "key", "status"))
    reopened: set[int] = set()
    if gate.reopened_fails and tasks:
        query += f", not reopened since {ctx.window_start:%Y-%m-%dT%H:%M:%SZ}"
        reopened = set(
            TaskEvent.objects.filter(
                Q(from_value=TaskStatus.DONE.value) & ~Q(to_value=TaskStatus.DONE.value),
                task_id__in=[t["pk"] for t in tasks],
                field="status",
                created_at__gte=ctx.window_start,
                created_at__lte=ctx.now,
            ).values_list("task_id", flat=True)
        )
    tied = [
        {"key": t["key"], "status": t["status"], "reopened": t["pk"] in reopened} for t in tasks
    ]
    if not tasks:
        return Measurement(None, query, "no task matches the filter", {"tasks": []})
    counted = [t for t in tied if t["status"] in statuses]
    message = f"{len(counted)} of {len(tied)} tied task(s) in {', '.join(statuses)}"
    detail: dict[str, object] = {"tasks": tied}
    if reopened:
        keys = ", ".join(t["key"] for t in tied if t["reopened"])
        detail["veto"] = f"reopened after done (a regression): {keys}"
    return Measurement(float(len(counted)), query, message, detail)

"""Reads of the coordination app, shaped for the page, the API and the exports.

The board is built from a fixed number of queries whatever the number of tasks
(pinned by ``tests/coordination/test_board.py``): the filtered cards, one light
row per task, every dependency edge, agents, tracks and the recent snapshots;
the graph work (blockers, what they hold up, the critical path) runs in Python.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Min, Prefetch, Q, QuerySet
from django.utils import timezone

from coordination.filters import TaskFilter
from coordination.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    AcceptanceItem,
    Agent,
    Plan,
    PlanGate,
    Priority,
    Snapshot,
    Task,
    TaskDependency,
    TaskEvent,
    TaskStatus,
    Track,
    remaining_label,
    status_label,
)
from lukhas_site.errors import Conflict, NotFound

PRIORITY_ORDER = {p: i for i, p in enumerate(Priority.values)}
UNASSIGNED_LABEL = "(unassigned)"
NO_TRACK_LABEL = "(no track)"


# --------------------------------------------------------------------------- querysets


def task_queryset() -> QuerySet[Task]:
    """Tasks with what every listing shows, joined in the same query (the plan's name,
    not its text)."""
    return Task.objects.select_related(
        "owner", "track", "reviewer", "approved_by", "source_plan"
    ).defer("source_plan__content", "source_plan__warnings")


def task_list(filters: TaskFilter | None = None) -> QuerySet[Task]:
    """The API's list: filtered, with collaborators, dependencies and checklist prefetched."""
    queryset = task_queryset().prefetch_related(
        "collaborators",
        Prefetch("dependencies", queryset=_related_tasks()),
        Prefetch("dependents", queryset=_related_tasks()),
        Prefetch("acceptance_items", queryset=AcceptanceItem.objects.order_by("position", "id")),
    )
    if filters is not None:
        queryset = filters.filter(queryset)
    return queryset.order_by("key", "source_plan__slug")


def _related_tasks() -> QuerySet[Task]:
    """Dependencies as the API names them: key and plan (``PLAN:KEY`` across plans)."""
    return Task.objects.select_related("source_plan").only("id", "key", "source_plan__slug")


def plan_get(slug: str) -> Plan:
    """The plan named ``slug`` (case-insensitive); NotFound lists the plans there are."""
    plan = Plan.objects.filter(slug=(slug or "").strip().lower()).first()
    if plan is None:
        known = ", ".join(Plan.objects.order_by("slug").values_list("slug", flat=True)[:20])
        raise NotFound(f"No plan is named {slug!r} (plans: {known or 'none yet'}).", param="plan")
    return plan


def plan_list() -> QuerySet[Plan]:
    """Plans (key spaces) with their gates, for the API; not the stored text."""
    gates = Prefetch("gates", queryset=PlanGate.objects.order_by("order", "id"))
    return Plan.objects.defer("content", "warnings").prefetch_related(gates).order_by("slug")


@dataclass
class PlanGates:
    """One plan's gates on the board: the checklist and how much of it is done."""

    plan_id: int
    slug: str
    title: str
    gates: list[PlanGate]

    @property
    def done(self) -> int:
        return sum(1 for g in self.gates if g.done)

    @property
    def all_done(self) -> bool:
        return bool(self.gates) and self.done == len(self.gates)


def plan_gates() -> list[PlanGates]:
    """Every plan that has gates, with them, in one query (the board)."""
    by_plan: dict[int, PlanGates] = {}
    rows = PlanGate.objects.select_related("plan").only(
        "id", "section", "text", "done", "line", "order", "plan__id", "plan__slug", "plan__title"
    )
    for gate in rows.order_by("plan__slug", "order", "id"):
        entry = by_plan.get(gate.plan_id)
        if entry is None:
            entry = by_plan[gate.plan_id] = PlanGates(
                gate.plan_id, gate.plan.slug, gate.plan.title, []
            )
        entry.gates.append(gate)
    return list(by_plan.values())


def task_get(key: str) -> Task:
    """The task a reference names: ``KEY``, or ``PLAN:KEY`` (``:KEY`` for a task without a
    plan); '1' also finds '#1'. NotFound says which key; a bare key that two plans use
    is refused with the qualified names to use instead."""
    ref = (key or "").strip()
    query = Task.objects.select_related("source_plan").defer(
        "source_plan__content", "source_plan__warnings"
    )
    slug, sep, bare = ref.partition(":")
    if sep and (not slug or Plan.objects.filter(slug=slug.lower()).exists()):
        query = (
            query.filter(source_plan__slug=slug.lower())
            if slug
            else query.filter(source_plan__isnull=True)
        )
        ref = bare.strip()
    candidates = list(query.filter(key=ref)[:10])
    if not candidates and ref.isdigit():
        candidates = list(query.filter(key=f"#{ref}")[:10])
    if not candidates:
        raise NotFound(f"No task has the key {(key or '').strip()!r}.", param="key")
    if len(candidates) > 1:
        names = ", ".join(sorted(t.ref for t in candidates))
        raise Conflict(
            f"{ref!r} names {len(candidates)} tasks: {names}. Write PLAN:KEY to choose one.",
            param="key",
            code="ambiguous_key",
            details={"candidates": sorted(t.ref for t in candidates)},
        )
    return candidates[0]


def task_detail(key: str) -> Task:
    """One task by key with what the API shows, prefetched (NotFound names the key)."""
    task = task_get(key)
    return task_list().get(pk=task.pk)


def task_events(task: Task, limit: int = 200) -> list[TaskEvent]:
    return list(
        TaskEvent.objects.filter(task=task)
        .select_related("user", "agent")
        .order_by("-created_at", "-id")[:limit]
    )


# --------------------------------------------------------------------------- the graph


@dataclass
class LightTask:
    """One row per task: enough for totals, the graph and the charts."""

    id: int
    key: str
    title: str
    status: str
    priority: str | None
    owner: str
    track: str
    estimate_min: float | None
    estimate_max: float | None
    critical: bool
    approved: bool
    plan: str = ""  # the plan's slug, "" without one
    # What pages and exports print: the key, or PLAN:KEY when another plan has it too.
    label: str = ""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def remaining_hours(self) -> float:
        if not self.is_open:
            return 0.0
        return float(self.estimate_max or self.estimate_min or 0.0)


def light_tasks() -> list[LightTask]:
    rows = Task.objects.order_by("key", "source_plan__slug").values_list(
        "id",
        "key",
        "title",
        "status",
        "priority",
        "owner__name",
        "track__name",
        "estimate_min_hours",
        "estimate_max_hours",
        "requires_critical_review",
        "approved_at",
        "source_plan__slug",
    )
    tasks = [
        LightTask(
            id=r[0],
            key=r[1],
            title=r[2],
            status=r[3],
            priority=r[4],
            owner=r[5] or "",
            track=r[6] or "",
            estimate_min=r[7],
            estimate_max=r[8],
            critical=r[9],
            approved=r[10] is not None,
            plan=r[11] or "",
        )
        for r in rows
    ]
    for task, label in zip(tasks, key_labels([(t.plan, t.key) for t in tasks]), strict=True):
        task.label = label
    return tasks


def key_labels(pairs: list[tuple[str, str]]) -> list[str]:
    """How to print each (plan slug, key): the key alone, unless another plan (or the
    tasks without a plan) has it too; then ``PLAN:KEY`` (``:KEY`` without a plan)."""
    seen: dict[str, int] = defaultdict(int)
    for _, key in pairs:
        seen[key] += 1
    return [
        (f"{plan}:{key}" if plan else f":{key}") if seen[key] > 1 else key for plan, key in pairs
    ]


def blocked_reasons() -> dict[int, str]:
    """Each blocked task's stated reason, by task id (tasks without one are left out)."""
    return dict(Task.objects.exclude(blocked_reason="").values_list("id", "blocked_reason"))


def dependency_edges() -> list[tuple[int, int]]:
    """Every (blocker_id, blocked_id) pair."""
    return list(TaskDependency.objects.values_list("blocker_id", "blocked_id"))


@dataclass
class Blocker:
    task: LightTask
    reason: str  # the blocked reason, or ""
    waits_for: list[LightTask]  # open dependencies
    holds_up: int  # open tasks that transitively wait for this one


@dataclass
class GraphView:
    tasks: dict[int, LightTask]
    waits_for: dict[int, list[int]]  # open blockers of each open task
    holds_up: dict[int, int]
    critical_path: list[LightTask]
    critical_path_hours: float


def _topological(nodes: list[int], children: dict[int, list[int]]) -> list[int]:
    """Kahn's order of an acyclic graph; nodes on a cycle (refused by the rules) are left out."""
    indegree = dict.fromkeys(nodes, 0)
    for node in nodes:
        for child in children.get(node, ()):
            indegree[child] += 1
    queue = deque(n for n in nodes if indegree[n] == 0)
    order = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for child in children.get(node, ()):
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    return order


def graph_view(tasks: list[LightTask], edges: list[tuple[int, int]]) -> GraphView:
    by_id = {t.id: t for t in tasks}
    open_ids = [t.id for t in tasks if t.is_open]
    open_set = set(open_ids)
    # Only open tasks hold anything up: a done blocker is out of the way.
    children: dict[int, list[int]] = defaultdict(list)
    parents: dict[int, list[int]] = defaultdict(list)
    for blocker, blocked in edges:
        if blocker in open_set and blocked in open_set:
            children[blocker].append(blocked)
            parents[blocked].append(blocker)
    waits_for = {
        blocked: sorted(blockers, key=lambda i: by_id[i].key)
        for blocked, blockers in parents.items()
    }
    order = _topological(open_ids, children)
    # Transitive dependents as bitsets (a Python int per task), in reverse
    # topological order: O(V + E) big-int ORs instead of one search per task.
    bit = {node: 1 << index for index, node in enumerate(order)}
    reach: dict[int, int] = {}
    for node in reversed(order):
        mask = 0
        for child in children.get(node, ()):
            mask |= bit[child] | reach.get(child, 0)
        reach[node] = mask
    holds_up = {node: mask.bit_count() for node, mask in reach.items()}
    # Longest chain of remaining hours through the dependencies (the critical path).
    best: dict[int, float] = {}
    via: dict[int, int | None] = {}
    for node in order:
        weight = by_id[node].remaining_hours
        incoming = [(best[p], p) for p in parents.get(node, ()) if p in best]
        if incoming:
            top, parent = max(incoming, key=lambda pair: (pair[0], -pair[1]))
            best[node], via[node] = top + weight, parent
        else:
            best[node], via[node] = weight, None
    path: list[LightTask] = []
    total = 0.0
    if best:
        end = max(best, key=lambda n: (best[n], holds_up.get(n, 0), -n))
        total = best[end]
        node: int | None = end
        while node is not None:
            path.append(by_id[node])
            node = via[node]
        path.reverse()
    return GraphView(
        tasks=by_id,
        waits_for=waits_for,
        holds_up=holds_up,
        critical_path=path if total > 0 or len(path) > 1 else [],
        critical_path_hours=round(total, 2),
    )


def blockers(
    graph: GraphView, reasons: dict[int, str], visible: set[int] | None = None
) -> list[Blocker]:
    """Blocked tasks, and open tasks waiting for open ones, most holding-up first."""
    found = []
    for task in graph.tasks.values():
        if visible is not None and task.id not in visible:
            continue
        waiting = graph.waits_for.get(task.id, [])
        if task.status == TaskStatus.BLOCKED or (task.is_open and waiting):
            found.append(
                Blocker(
                    task=task,
                    reason=reasons.get(task.id, ""),
                    waits_for=[graph.tasks[i] for i in waiting],
                    holds_up=graph.holds_up.get(task.id, 0),
                )
            )
    found.sort(
        key=lambda b: (
            -b.holds_up,
            b.task.status != TaskStatus.BLOCKED,
            PRIORITY_ORDER.get(b.task.priority, 9),
            b.task.key,
        )
    )
    return found


# --------------------------------------------------------------------------- totals, snapshots


@dataclass
class Totals:
    task_count: int = 0
    open_count: int = 0
    done_count: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_owner: dict[str, dict[str, int]] = field(default_factory=dict)
    by_track: dict[str, dict[str, int]] = field(default_factory=dict)
    remaining_hours: float = 0.0
    remaining_hours_by_owner: dict[str, float] = field(default_factory=dict)
    task_statuses: dict[str, str] = field(default_factory=dict)
    # The open tasks remaining_hours sums, and the open ones it cannot (no estimate).
    estimated_open: int = 0
    unestimated_open: int = 0

    @property
    def remaining_label(self) -> str:
        """ "34.6 h over 21 estimated tasks, 27 without an estimate"."""
        return remaining_label(self.remaining_hours, self.estimated_open, self.unestimated_open)


def totals_of(tasks: list[LightTask]) -> Totals:
    totals = Totals(by_status=dict.fromkeys(TaskStatus.values, 0))
    remaining_by_owner: dict[str, float] = defaultdict(float)
    for task in tasks:
        owner = task.owner or UNASSIGNED_LABEL
        track = task.track or NO_TRACK_LABEL
        totals.task_count += 1
        totals.open_count += task.is_open
        totals.done_count += task.status == TaskStatus.DONE
        totals.by_status[task.status] = totals.by_status.get(task.status, 0) + 1
        per_owner = totals.by_owner.setdefault(owner, {})
        per_owner[task.status] = per_owner.get(task.status, 0) + 1
        per_track = totals.by_track.setdefault(track, {})
        per_track[task.status] = per_track.get(task.status, 0) + 1
        totals.remaining_hours += task.remaining_hours
        if task.is_open:
            remaining_by_owner[owner] += task.remaining_hours
            if task.estimate_min is None and task.estimate_max is None:
                totals.unestimated_open += 1
            else:
                totals.estimated_open += 1
        totals.task_statuses[task.label or task.key] = task.status
    totals.remaining_hours = round(totals.remaining_hours, 2)
    totals.remaining_hours_by_owner = {
        owner: round(hours, 2) for owner, hours in sorted(remaining_by_owner.items())
    }
    totals.by_owner = dict(sorted(totals.by_owner.items()))
    totals.by_track = dict(sorted(totals.by_track.items()))
    return totals


def snapshot_compute(*, now: datetime | None = None) -> Snapshot:
    """An unsaved Snapshot of the board as it is (services.snapshot_take saves it)."""
    totals = totals_of(light_tasks())
    return Snapshot(
        taken_at=now or timezone.now(),
        task_count=totals.task_count,
        open_count=totals.open_count,
        done_count=totals.done_count,
        by_status=totals.by_status,
        by_owner=totals.by_owner,
        by_track=totals.by_track,
        remaining_hours=totals.remaining_hours,
        estimated_open_count=totals.estimated_open,
        unestimated_open_count=totals.unestimated_open,
        remaining_hours_by_owner=totals.remaining_hours_by_owner,
        task_statuses=totals.task_statuses,
    )


def snapshot_latest() -> Snapshot | None:
    return Snapshot.objects.order_by("-taken_at", "-id").first()


def snapshot_before(snapshot: Snapshot) -> Snapshot | None:
    query = Snapshot.objects.filter(
        Q(taken_at__lt=snapshot.taken_at) | Q(taken_at=snapshot.taken_at, id__lt=snapshot.id or 0)
    )
    return query.order_by("-taken_at", "-id").first()


def snapshot_series(limit: int = 90) -> list[Snapshot]:
    """The most recent snapshots, oldest first (the burn charts)."""
    rows = Snapshot.objects.order_by("-taken_at", "-id").only(
        "taken_at", "task_count", "open_count", "done_count", "remaining_hours"
    )[:limit]
    return list(reversed(rows))


def events_between(start: datetime | None, end: datetime) -> QuerySet[TaskEvent]:
    query = TaskEvent.objects.filter(created_at__lte=end)
    if start is not None:
        query = query.filter(created_at__gt=start)
    return query.select_related("task__source_plan", "user", "agent").order_by("created_at", "id")


def clashing_keys() -> set[str]:
    """Keys that more than one task has (in different plans): printed as PLAN:KEY."""
    rows = Task.objects.values("key").annotate(n=Count("id")).filter(n__gt=1)
    return set(rows.values_list("key", flat=True))


# --------------------------------------------------------------------------- the board


@dataclass
class Card:
    task: Task
    waits_for: list[LightTask]
    holds_up: int
    moves: list[tuple[str, str]]  # allowed (status, label)
    label: str = ""  # the key, or PLAN:KEY when it clashes (LightTask.label)

    @property
    def accept_label(self) -> str:
        total = getattr(self.task, "accept_total", 0)
        return f"{getattr(self.task, 'accept_done', 0)}/{total}" if total else ""


@dataclass
class Column:
    status: str
    label: str
    cards: list[Card]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.cards)


@dataclass
class Board:
    filters: TaskFilter
    columns: list[Column]
    blockers: list[Blocker]
    review_ready: list[Card]
    critical_path: list[LightTask]
    critical_path_hours: float
    totals: Totals
    visible_count: int
    agents: list[Agent]
    tracks: list[Track]
    snapshots: list[Snapshot]
    all_tasks: list[LightTask]
    gates: list[PlanGates] = field(default_factory=list)


REVIEW_LIMIT = 50
_CARD_FIELDS = (
    "id",
    "key",
    "title",
    "status",
    "priority",
    "risk",
    "estimate_min_hours",
    "estimate_max_hours",
    "requires_critical_review",
    "approved_at",
    "blocked_reason",
    "pr_url",
    "ci_conclusion",
    "status_changed_at",
    "owner__id",
    "owner__name",
    "track__id",
    "track__name",
    "reviewer__id",
    "reviewer__name",
)


def board_build(*, filters: TaskFilter, column_limit: int = 50) -> Board:
    """Everything the board page shows, in a fixed number of queries.

    The filter picks task ids (one narrow query); only the cards that are shown
    (``column_limit`` per column, the review list) are loaded as full rows.
    """
    picked = filters.filter(Task.objects.all()).values_list(
        "id",
        "status",
        "priority",
        "key",
        "requires_critical_review",
        "status_changed_at",
        "blocked_reason",
    )
    visible = list(picked)
    by_status: dict[str, list[tuple]] = defaultdict(list)
    for row in visible:
        by_status[row[1]].append(row)
    shown: dict[str, list[int]] = {}
    for status, rows in by_status.items():
        rows.sort(key=lambda r: (PRIORITY_ORDER.get(r[2], 9), r[3]))
        shown[status] = [r[0] for r in rows[:column_limit]]
    never = timezone.now()
    review_rows = sorted(
        by_status.get(TaskStatus.IN_REVIEW, []),
        key=lambda r: (not r[4], r[5] or never, r[3]),
    )[:REVIEW_LIMIT]
    wanted = {pk for ids in shown.values() for pk in ids} | {r[0] for r in review_rows}
    cards_qs = (
        Task.objects.filter(pk__in=wanted)
        .select_related("owner", "track", "reviewer")
        .only(*_CARD_FIELDS)
        .annotate(
            accept_total=Count("acceptance_items"),
            accept_done=Count("acceptance_items", filter=Q(acceptance_items__done=True)),
        )
    )
    loaded = {task.id: task for task in cards_qs}
    everything = light_tasks()
    graph = graph_view(everything, dependency_edges())

    def card(pk: int) -> Card:
        task = loaded[pk]
        return Card(
            task=task,
            waits_for=[graph.tasks[i] for i in graph.waits_for.get(task.id, [])],
            holds_up=graph.holds_up.get(task.id, 0),
            moves=[(s, status_label(s)) for s in TRANSITIONS[task.status]],
            label=graph.tasks[task.id].label,
        )

    columns = [
        Column(
            status=status,
            label=label,
            cards=[card(pk) for pk in shown.get(status, []) if pk in loaded],
            total=len(by_status.get(status, [])),
        )
        for status, label in TaskStatus.choices
    ]
    visible_ids = {row[0] for row in visible}
    reasons = {row[0]: row[6] for row in visible if row[6]}
    review = [card(r[0]) for r in review_rows if r[0] in loaded]
    return Board(
        filters=filters,
        columns=columns,
        blockers=blockers(graph, reasons, visible_ids),
        review_ready=review,
        critical_path=graph.critical_path,
        critical_path_hours=graph.critical_path_hours,
        totals=totals_of(everything),
        visible_count=len(visible),
        agents=list(Agent.objects.filter(active=True).order_by("name").only("id", "name")),
        tracks=list(Track.objects.order_by("position", "name").only("id", "name")),
        snapshots=snapshot_series(),
        all_tasks=everything,
        gates=plan_gates(),
    )


@dataclass
class ExportRecord:
    """One task as the exports write it, with its relations resolved to names and keys."""

    id: int
    key: str
    title: str
    track: str | None
    owner: str | None
    reviewer: str | None
    status: str
    priority: str | None
    risk: str | None
    estimate_min_hours: float | None
    estimate_max_hours: float | None
    files: list[str]
    branch: str
    pr_url: str
    ci_conclusion: str
    requires_critical_review: bool
    approved_by: str | None
    approved_at: datetime | None
    blocked_reason: str
    source_plan: str | None
    source_line: int | None
    updated_at: datetime
    plan: str | None = None  # the plan's slug (the key space)
    label: str = ""  # the key, or PLAN:KEY when it clashes
    collaborators: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    acceptance: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def has_estimate(self) -> bool:
        return self.estimate_min_hours is not None or self.estimate_max_hours is not None

    @property
    def remaining_hours(self) -> float:
        if self.status not in OPEN_STATUSES:
            return 0.0
        return float(self.estimate_max_hours or self.estimate_min_hours or 0.0)


_EXPORT_FIELDS = {
    "id": "id",
    "key": "key",
    "title": "title",
    "track": "track__name",
    "owner": "owner__name",
    "reviewer": "reviewer__name",
    "status": "status",
    "priority": "priority",
    "risk": "risk",
    "estimate_min_hours": "estimate_min_hours",
    "estimate_max_hours": "estimate_max_hours",
    "files": "files",
    "branch": "branch",
    "pr_url": "pr_url",
    "ci_conclusion": "ci_conclusion",
    "requires_critical_review": "requires_critical_review",
    "approved_by": "approved_by__name",
    "approved_at": "approved_at",
    "blocked_reason": "blocked_reason",
    "source_plan": "source_plan__source_name",
    "source_line": "source_line",
    "updated_at": "updated_at",
    "plan": "source_plan__slug",
}


def export_records(edges: list[tuple[int, int]] | None = None) -> list[ExportRecord]:
    """Every task for the exports, from four flat queries (plus the edges if not given).

    Flat rows, not prefetch_related: prefetching four relations of 2,000 tasks builds
    8,000 querysets and costs seconds; this costs a few hundred milliseconds.
    """
    lookups = list(_EXPORT_FIELDS.values())
    records = [
        ExportRecord(**dict(zip(_EXPORT_FIELDS, row, strict=True)))
        for row in Task.objects.order_by("key", "source_plan__slug").values_list(*lookups)
    ]
    labels = key_labels([(r.plan or "", r.key) for r in records])
    for record, label in zip(records, labels, strict=True):
        record.label = label
    by_id = {r.id: r for r in records}
    through = Task.collaborators.through.objects.values_list("task_id", "agent__name")
    for task_id, name in through.order_by("agent__name"):
        by_id[task_id].collaborators.append(name)
    for blocker, blocked in dependency_edges() if edges is None else edges:
        by_id[blocked].depends_on.append(by_id[blocker].label)
        by_id[blocker].blocks.append(by_id[blocked].label)
    items = AcceptanceItem.objects.order_by("task_id", "position", "id")
    for task_id, text, done in items.values_list("task_id", "text", "done"):
        by_id[task_id].acceptance.append((text, done))
    for record in records:
        record.depends_on.sort()
        record.blocks.sort()
    return records


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class BoardFigures:
    """What /metrics says about the board: three aggregate queries, whatever the size."""

    by_owner_status: dict[tuple[str, str], int]
    blocked_by_status: int
    waiting_on_dependency: int
    # reviewer name -> (tasks in review, when the oldest entered review or None if unknown)
    review_queue: dict[str, tuple[int, datetime | None]]


def board_figures() -> BoardFigures:
    """Counts for the coordination gauges (coordination/metrics.py), read at scrape time."""
    by_owner_status: dict[tuple[str, str], int] = {}
    rows = Task.objects.values_list("owner__name", "status").annotate(n=Count("id"))
    for owner, status, n in rows.order_by():
        by_owner_status[(owner or UNASSIGNED_LABEL, status)] = n
    blocked = sum(n for (_, status), n in by_owner_status.items() if status == TaskStatus.BLOCKED)
    waiting = (
        Task.objects.filter(
            status__in=OPEN_STATUSES, depends_links__blocker__status__in=OPEN_STATUSES
        )
        .exclude(status=TaskStatus.BLOCKED)
        .values("id")
        .distinct()
        .count()
    )
    queue: dict[str, tuple[int, datetime | None]] = {}
    in_review = Task.objects.filter(status=TaskStatus.IN_REVIEW).values_list("reviewer__name")
    for reviewer, n, oldest in in_review.annotate(
        n=Count("id"), oldest=Min("status_changed_at")
    ).order_by():
        queue[reviewer or UNASSIGNED_LABEL] = (n, oldest)
    return BoardFigures(by_owner_status, blocked, waiting, queue)

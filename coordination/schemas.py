"""Shapes of the coordination ops API (``/api/coordination/``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from coordination.models import Priority, Risk, Snapshot, Task, TaskStatus, remaining_label


class AgentOut(Schema):
    id: int
    name: str
    kind: str
    role: str
    active: bool
    aliases: list[str]

    @staticmethod
    def resolve_aliases(agent: Any) -> list[str]:
        return [alias.alias for alias in agent.aliases.all()]


class AcceptanceItemOut(Schema):
    id: int
    text: str
    done: bool
    position: int


class TaskOut(Schema):
    id: int
    key: str = Field(description="as the plan writes it; unique within its plan only")
    plan: str | None = Field(description="the plan's slug: the task's key space (null: none)")
    ref: str = Field(description="PLAN:KEY (KEY without a plan): names the task everywhere")
    title: str
    track: str | None
    owner: str | None
    collaborators: list[str]
    reviewer: str | None
    status: TaskStatus
    priority: Priority | None = Field(description="null: unknown (nobody said)")
    risk: Risk | None = Field(description="null: unknown (nobody said)")
    estimate_min_hours: float | None
    estimate_max_hours: float | None
    files: list[str]
    branch: str
    pr_url: str
    pr_number: int | None
    ci_conclusion: str
    requires_critical_review: bool
    approved_by: str | None
    approved_at: datetime | None
    blocked_reason: str
    goal: str
    notes: str
    depends_on: list[str] = Field(description="tasks that must be done before this one starts")
    blocks: list[str] = Field(description="tasks that wait for this one")
    acceptance: list[AcceptanceItemOut]
    source_plan: str | None
    source_line: int | None
    status_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_track(task: Task) -> str | None:
        return task.track.name if task.track_id else None

    @staticmethod
    def resolve_owner(task: Task) -> str | None:
        return task.owner.name if task.owner_id else None

    @staticmethod
    def resolve_reviewer(task: Task) -> str | None:
        return task.reviewer.name if task.reviewer_id else None

    @staticmethod
    def resolve_approved_by(task: Task) -> str | None:
        return task.approved_by.name if task.approved_by_id else None

    @staticmethod
    def resolve_collaborators(task: Task) -> list[str]:
        return sorted(agent.name for agent in task.collaborators.all())

    @staticmethod
    def resolve_plan(task: Task) -> str | None:
        return task.plan_slug or None

    @staticmethod
    def resolve_ref(task: Task) -> str:
        return task.ref

    @staticmethod
    def resolve_depends_on(task: Task) -> list[str]:
        return sorted(_name_from(task, t) for t in task.dependencies.all())

    @staticmethod
    def resolve_blocks(task: Task) -> list[str]:
        return sorted(_name_from(task, t) for t in task.dependents.all())

    @staticmethod
    def resolve_acceptance(task: Task) -> list[Any]:
        return list(task.acceptance_items.all())

    @staticmethod
    def resolve_source_plan(task: Task) -> str | None:
        # The name only, from the id: no query per task for a list.
        return task.source_plan.source_name if task.source_plan_id else None


def _name_from(task: Task, other: Task) -> str:
    """``other`` as ``task``'s plan writes it: its key in the same plan, else PLAN:KEY."""
    return other.key if other.source_plan_id == task.source_plan_id else other.ref


class TaskIn(Schema):
    key: str = Field(description="as plans write it: CC-1, #1, A, E402-1")
    plan: str | None = Field(
        None, description="the slug of an imported plan to create the task in (default: none)"
    )
    title: str
    track: str | None = Field(None, description="a track's name (created if new)")
    owner: str | None = Field(None, description="an agent's name or alias (created if unknown)")
    collaborators: list[str] = []
    reviewer: str | None = None
    status: TaskStatus = TaskStatus.TODO
    blocked_reason: str = ""
    priority: Priority | None = Field(None, description="null (the default): unknown")
    risk: Risk | None = Field(None, description="null (the default): unknown")
    estimate_min_hours: float | None = Field(None, ge=0)
    estimate_max_hours: float | None = Field(None, ge=0)
    files: list[str] = []
    branch: str = ""
    pr_url: str = ""
    requires_critical_review: bool = False
    goal: str = ""
    notes: str = ""
    depends_on: list[str] = Field(
        [], description="tasks that must be done first: KEY, or PLAN:KEY for a plan's task"
    )
    acceptance: list[str] = Field([], description="acceptance criteria, unchecked")


class TaskPatchIn(Schema):
    """Only the fields sent change. ``status`` goes through the rules (``reason`` to block)."""

    title: str | None = None
    track: str | None = None
    owner: str | None = Field(None, description="agent name or alias; '' unassigns")
    collaborators: list[str] | None = None
    reviewer: str | None = None
    status: TaskStatus | None = None
    reason: str | None = Field(None, description="why, when status is blocked")
    priority: Priority | None = Field(None, description="null: unknown")
    risk: Risk | None = Field(None, description="null: unknown")
    estimate_min_hours: float | None = Field(None, ge=0, description="null: no estimate")
    estimate_max_hours: float | None = Field(None, ge=0, description="null: no estimate")
    files: list[str] | None = None
    branch: str | None = None
    pr_url: str | None = None
    requires_critical_review: bool | None = None
    goal: str | None = None
    notes: str | None = None


class TransitionIn(Schema):
    to: TaskStatus
    reason: str | None = None


class DependencyIn(Schema):
    blocker: str = Field(description="key of the task that must be done first")


class AcceptancePatchIn(Schema):
    done: bool


class SnapshotOut(Schema):
    id: int
    taken_at: datetime
    slot: str | None
    task_count: int
    open_count: int
    done_count: int
    remaining_hours: float = Field(description="the maximum estimates of open estimated tasks")
    estimated_open_count: int | None = Field(description="open tasks remaining_hours sums")
    unestimated_open_count: int | None = Field(
        description="open tasks without an estimate: left out of remaining_hours (null: "
        "not counted on snapshots that old)"
    )
    remaining_label: str = Field(description="'34.6 h over 21 estimated tasks, 27 without …'")
    by_status: dict[str, int]
    by_owner: dict[str, dict[str, int]]
    by_track: dict[str, dict[str, int]]
    remaining_hours_by_owner: dict[str, float]

    @staticmethod
    def resolve_slot(snapshot: Snapshot) -> str | None:
        return snapshot.slot or None

    @staticmethod
    def resolve_remaining_label(snapshot: Snapshot) -> str:
        return remaining_label(
            snapshot.remaining_hours,
            snapshot.estimated_open_count,
            snapshot.unestimated_open_count,
        )


class PlanGateOut(Schema):
    id: int
    section: str = Field(description="the gate's heading in the plan")
    text: str
    done: bool
    line: int | None


class PlanOut(Schema):
    slug: str = Field(description="the plan's name in references: PLAN:KEY")
    title: str
    source_name: str = Field(description="the file last imported")
    checksum: str
    task_count: int
    import_count: int
    updated_at: datetime
    gates: list[PlanGateOut]
    gates_done: bool = Field(description="the plan has gates and every one is checked")

    @staticmethod
    def resolve_gates(plan: Any) -> list[Any]:
        return list(plan.gates.all())

    @staticmethod
    def resolve_gates_done(plan: Any) -> bool:
        gates = list(plan.gates.all())
        return bool(gates) and all(g.done for g in gates)


class ImportOut(Schema):
    schema_version: int
    source_name: str
    checksum: str
    title: str
    dry_run: bool
    repaired_mojibake: bool
    plan_id: int | None
    plan: str = Field(description="the slug of the plan (key space) the tasks went into")
    counts: dict[str, int]
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    agents_created: list[dict[str, str]]
    tracks_created: list[str]
    warnings: list[str]
    inferences: list[str] = Field(
        description="what the importer inferred rather than read, with its line: check them"
    )
    prefer_plan: bool = Field(description="conflicts took the plan's value (else the board's)")
    conflicts: list[dict[str, Any]] = Field(
        description="fields changed on the board and in the plan since the last import: "
        "{key, line, field, plan, board, imported}"
    )
    gates: list[dict[str, Any]] = Field(description="the plan's gates: {section, text, done, line}")
    gates_changed: list[str] = Field(description="gate lines added, ticked, unticked, removed")
    changes: list[dict[str, Any]]
    tasks: list[dict[str, Any]] = Field(description="every parsed task and its fields")


class ImportJobOut(Schema):
    """202: the plan is above LUKHAS_PLAN_IMPORT_JOB_BYTES and a job imports it."""

    job_id: int = Field(description="follow it at GET /api/jobs/{job_id}")
    kind: str = Field(description="the flow: plan-import")
    status: str = Field(description="the job's status now (queued)")
    url: str = Field(description="the job's page: progress bar, steps, log")
    progress_url: str = Field(description="the progress JSON the page polls")
    source_name: str
    bytes: int
    tasks: int = Field(description="tasks the plan declares")


class WebhookOut(Schema):
    status: str = Field(description="processed, duplicate or ignored")
    event: str
    delivery: str
    tasks: list[str] = []
    outcome: str = ""

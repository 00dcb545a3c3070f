"""Tasks, agents, tracks, dependencies, review gates, plans and snapshots.

Models hold data and invariants (constraints); the rules that decide how a task
may change live in the ``coordination.services`` package, the only code that
writes these rows. The status table (``TRANSITIONS``) sits here, beside
``TaskStatus``, because reads (the board's allowed moves) need it as much as writes.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils.text import slugify

from coordination.plan_parser import normalize_agent_name
from lukhas_site.models import TimeStampedModel

# Links a user or an agent may store (a task's PR): only web pages. Anything else
# (javascript:, data:, ftp:) could run script or leave the site when clicked.
WEB_URL_SCHEMES = ("http", "https")
# Its own code: a form field replaces the message of the code "invalid" with its own.
validate_web_url = URLValidator(
    schemes=list(WEB_URL_SCHEMES), message="Enter an http:// or https:// URL.", code="web_url"
)


def is_web_url(value: str | None) -> bool:
    """Whether ``value`` is an http(s) URL: what the pages render as a link."""
    if not value:
        return False
    try:
        validate_web_url(value)
    except ValidationError:
        return False
    return True


class AgentKind(models.TextChoices):
    PERSON = "person", "Person"
    CODING_AGENT = "coding_agent", "Coding agent"


class TaskStatus(models.TextChoices):
    TODO = "todo", "To do"
    IN_PROGRESS = "in_progress", "In progress"
    IN_REVIEW = "in_review", "In review"
    BLOCKED = "blocked", "Blocked"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


# Who may go where. Anything else is refused with the list of allowed moves.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    TaskStatus.TODO: (
        TaskStatus.IN_PROGRESS,
        TaskStatus.IN_REVIEW,
        TaskStatus.BLOCKED,
        TaskStatus.CANCELLED,
    ),
    TaskStatus.IN_PROGRESS: (
        TaskStatus.TODO,
        TaskStatus.IN_REVIEW,
        TaskStatus.BLOCKED,
        TaskStatus.DONE,
        TaskStatus.CANCELLED,
    ),
    TaskStatus.IN_REVIEW: (
        TaskStatus.IN_PROGRESS,
        TaskStatus.BLOCKED,
        TaskStatus.DONE,
        TaskStatus.CANCELLED,
    ),
    TaskStatus.BLOCKED: (TaskStatus.TODO, TaskStatus.IN_PROGRESS, TaskStatus.CANCELLED),
    TaskStatus.DONE: (TaskStatus.IN_PROGRESS,),  # reopen
    TaskStatus.CANCELLED: (TaskStatus.TODO,),  # revive
}
# Entering one of these means work happens on the task: its dependencies must be done.
WORKING_STATUSES = (TaskStatus.IN_PROGRESS, TaskStatus.IN_REVIEW, TaskStatus.DONE)


def status_label(status: str) -> str:
    """'in_review' -> 'In review'; an unknown value reads as itself (old rows, typos)."""
    try:
        return TaskStatus(status).label
    except ValueError:
        return status


# One colour per status, for the admin's badges and the board's charts.
STATUS_COLOURS = {
    TaskStatus.TODO: "#6b7389",
    TaskStatus.IN_PROGRESS: "#2f6fd6",
    TaskStatus.IN_REVIEW: "#8a5cd1",
    TaskStatus.BLOCKED: "#c2372f",
    TaskStatus.DONE: "#1f8a4c",
    TaskStatus.CANCELLED: "#9aa0ad",
}


# Statuses in which a task still needs work (it counts towards what is left).
OPEN_STATUSES = (
    TaskStatus.TODO,
    TaskStatus.IN_PROGRESS,
    TaskStatus.IN_REVIEW,
    TaskStatus.BLOCKED,
)
CLOSED_STATUSES = (TaskStatus.DONE, TaskStatus.CANCELLED)


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Risk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    VARIABLE = "variable", "Variable"


class ActorKind(models.TextChoices):
    USER = "user", "User"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"
    WEBHOOK = "webhook", "Webhook"


class Agent(TimeStampedModel):
    """A person or coding agent a coordinator assigns tasks to (Codex, Claude Code, Jules...)."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=AgentKind, default=AgentKind.CODING_AGENT)
    role = models.CharField(max_length=200, blank=True, help_text="e.g. executor, reviewer")
    active = models.BooleanField(default=True)
    # The site user who acts for this agent: approving a critical review of a task
    # this agent reviews needs that user (or the agent itself, through the API).
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coordination_agent",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AgentAlias(TimeStampedModel):
    """Another way plans spell an agent ('@codex', 'ChatGPT CODEX'); matched normalised."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=100)
    # normalize_agent_name(alias): what the importer and filters look up.
    normalized = models.CharField(max_length=100, editable=False)

    class Meta:
        ordering = ["normalized"]
        verbose_name_plural = "agent aliases"
        constraints = [
            # One spelling names one agent; also the index of every alias lookup.
            models.UniqueConstraint(fields=["normalized"], name="coord_alias_normalized_uniq"),
            models.CheckConstraint(condition=~Q(normalized=""), name="coord_alias_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.alias} → {self.agent_id and self.agent.name}"

    def clean(self) -> None:
        self.normalized = normalize_agent_name(self.alias)
        if not self.normalized:
            raise ValidationError({"alias": "An alias needs at least one letter or digit."})
        clash = AgentAlias.objects.filter(normalized=self.normalized).exclude(pk=self.pk)
        clash = clash.select_related("agent").first()
        if clash is not None:
            raise ValidationError(
                {
                    "alias": f"{self.alias!r} reads as {self.normalized!r}, "
                    f"which already names {clash.agent.name}."
                }
            )

    def save(self, *args: object, **kwargs: object) -> None:
        # A derived column, not a rule: it must always follow `alias`.
        self.normalized = normalize_agent_name(self.alias)
        super().save(*args, **kwargs)


class Track(TimeStampedModel):
    """A stream of work, e.g. a plan section ('Hygiene Slices', 'Security & Supply Chain')."""

    name = models.CharField(max_length=200, unique=True)
    position = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


def plan_slug_for(source_name: str) -> str:
    """The key space a document imports into: its file name without extension, slugified
    (``coordination-task-assignments.md`` -> ``coordination-task-assignments``)."""
    stem = PurePosixPath((source_name or "").replace("\\", "/")).stem
    return slugify(stem.replace(".", "-"))[:100].strip("-") or "plan"


class Plan(TimeStampedModel):
    """A plan: its own key space of tasks (``slug``), and its latest imported document.

    A task's identity is (plan, key): two plans may both have ``#1``. Importing a
    revised document of the same plan (same slug) updates this row and its tasks.
    """

    slug = models.SlugField(
        max_length=100,
        unique=True,
        help_text="the plan's name in references (PLAN:KEY); from the file name",
    )
    source_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64, help_text="sha256 of the last imported file")
    title = models.CharField(max_length=300, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    import_count = models.PositiveIntegerField(default=1)
    task_count = models.PositiveIntegerField(default=0)
    # {"created": n, "updated": n, "unchanged": n, "agents_created": n} of the last import.
    counts = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    repaired_mojibake = models.BooleanField(default=False)
    content = models.TextField(blank=True, help_text="the plan text as imported")

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            # save() lowercases it, so ``SOAK:S2`` and ``soak:S2`` name the same plan.
            models.CheckConstraint(condition=~Q(slug=""), name="coord_plan_slug_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.slug} ({self.source_name}, {self.checksum[:8]})"

    def save(self, *args: object, **kwargs: object) -> None:
        # A derived column when not given, as AgentAlias.normalized: never empty.
        if not self.slug:
            self.slug = plan_slug_for(self.source_name)
        self.slug = self.slug.lower()
        super().save(*args, **kwargs)


class PlanGate(TimeStampedModel):
    """One checklist line of a plan's gate ("Pre-GA gates", "Acceptance criteria (Phase 2
    complete)"): a condition on the plan, not a task. Written by the import only (the
    plan is its source: edit the plan), one row per line, matched by (section, text)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="gates")
    section = models.CharField(max_length=300, help_text="the gate's heading in the plan")
    text = models.TextField()
    done = models.BooleanField(default=False)
    line = models.PositiveIntegerField(null=True, blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["plan", "order", "id"]
        indexes = [
            # A plan's gates in order (board, API, soak source).
            models.Index(fields=["plan", "order"], name="coord_plangate_plan_order_idx"),
        ]

    def __str__(self) -> str:
        return f"[{'x' if self.done else ' '}] {self.section}: {self.text}"


class PlanUpload(TimeStampedModel):
    """An uploaded plan waiting for (or imported by) a ``plan-import`` job.

    The bytes live in the database, not under var/: every worker that can run
    the job reaches the database, not necessarily the web server's disk. A
    2 MiB upload limit keeps the row small; the job's params only name it.
    """

    source_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    data = models.BinaryField(help_text="the uploaded bytes, as sent")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Who signs the import when it is not a user: "api-key:<prefix>", "import_plan:<file>".
    uploaded_by_label = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.source_name} ({self.size:,} bytes)"


class Task(TimeStampedModel):
    """One unit of work with an owner, a status and the rules of ``coordination.services``."""

    # Unique within its plan (``source_plan``), not globally: see Meta.constraints.
    key = models.CharField(max_length=64, help_text="as plans write it: CC-1, #1, A")
    title = models.CharField(max_length=300)
    track = models.ForeignKey(
        Track, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    owner = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_tasks"
    )
    collaborators = models.ManyToManyField(Agent, blank=True, related_name="collaborating_tasks")
    reviewer = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviewed_tasks"
    )
    status = models.CharField(max_length=20, choices=TaskStatus, default=TaskStatus.TODO)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Null is "unknown": what the plan (or whoever made the task) did not say. Never a
    # default a reader would take for a decision ("medium" for 34 of 48 cards).
    priority = models.CharField(max_length=10, choices=Priority, null=True, blank=True)
    risk = models.CharField(max_length=10, choices=Risk, null=True, blank=True)
    estimate_min_hours = models.FloatField(null=True, blank=True)
    estimate_max_hours = models.FloatField(null=True, blank=True)
    files = models.JSONField(default=list, blank=True)
    branch = models.CharField(max_length=255, blank=True)
    pr_url = models.URLField(
        max_length=500, blank=True, verbose_name="PR URL", validators=[validate_web_url]
    )
    pr_number = models.PositiveIntegerField(null=True, blank=True, verbose_name="PR number")
    ci_conclusion = models.CharField(
        max_length=30, blank=True, help_text="last GitHub check suite conclusion"
    )
    requires_critical_review = models.BooleanField(default=False)
    approved_by = models.ForeignKey(
        Agent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approved_tasks",
        help_text="the reviewer who approved the critical review",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    blocked_reason = models.TextField(blank=True)
    goal = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # The key space: tasks of a plan, or (null) tasks created on the board, the API or
    # the admin. PROTECT: a plan's tasks moving into the null space could clash there.
    source_plan = models.ForeignKey(
        Plan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
        verbose_name="plan",
    )
    source_line = models.PositiveIntegerField(null=True, blank=True)
    # What the plan said at the last import, field by field ({"owner": "Codex", ...}):
    # the base of the three-way merge. A field whose live value differs from it was
    # changed on the board or the API since, and a re-import does not overwrite it.
    imported_fields = models.JSONField(default=dict, blank=True, editable=False)
    dependencies = models.ManyToManyField(
        "self",
        symmetrical=False,
        through="TaskDependency",
        through_fields=("blocked", "blocker"),
        related_name="dependents",
        blank=True,
        help_text="tasks that must be done before this one starts",
    )

    class Meta:
        ordering = ["key"]
        indexes = [
            # The board's columns and the API's status filter.
            models.Index(fields=["status", "key"], name="coord_task_status_idx"),
            # "Codex's open tasks": owner filter on the board, the API and snapshots.
            models.Index(fields=["owner", "status"], name="coord_task_owner_status_idx"),
            # The track filter and totals by track.
            models.Index(fields=["track", "status"], name="coord_task_track_status_idx"),
            # The webhook links check suites to tasks by PR number.
            models.Index(fields=["pr_number"], name="coord_task_pr_number_idx"),
            # Lookups by key alone (API paths, GitHub links), across plans.
            models.Index(fields=["key"], name="coord_task_key_idx"),
        ]
        constraints = [
            # A task is (plan, key): two plans may both have #1.
            models.UniqueConstraint(
                fields=["source_plan", "key"],
                name="coord_task_plan_key_uniq",
                violation_error_message="This plan already has a task with that key.",
            ),
            # NULLs are distinct in a unique index: the tasks without a plan need their own.
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(source_plan__isnull=True),
                name="coord_task_key_uniq_without_plan",
                violation_error_message="A task without a plan has that key already.",
            ),
            models.CheckConstraint(
                condition=~Q(status=TaskStatus.BLOCKED) | ~Q(blocked_reason=""),
                name="coord_task_blocked_has_reason",
                violation_error_message="A blocked task needs a reason.",
            ),
            models.CheckConstraint(
                condition=Q(estimate_min_hours__isnull=True)
                | Q(estimate_max_hours__isnull=True)
                | Q(estimate_min_hours__lte=models.F("estimate_max_hours")),
                name="coord_task_estimate_ordered",
                violation_error_message="The minimum estimate exceeds the maximum.",
            ),
            models.CheckConstraint(
                condition=Q(estimate_min_hours__isnull=True) | Q(estimate_min_hours__gte=0),
                name="coord_task_estimate_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(approved_at__isnull=True, approved_by__isnull=True)
                | Q(approved_at__isnull=False, approved_by__isnull=False),
                name="coord_task_approval_complete",
                violation_error_message="An approval needs both who and when.",
            ),
            models.CheckConstraint(condition=~Q(key=""), name="coord_task_key_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.title}"  # not .ref: no query per row in admin lists

    @property
    def plan_slug(self) -> str:
        """The slug of the task's plan, "" for a task without one (loads the plan)."""
        return self.source_plan.slug if self.source_plan_id else ""

    @property
    def ref(self) -> str:
        """The key that names this task everywhere: ``plan:KEY`` (``KEY`` without a plan)."""
        return qualified_key(self.plan_slug, self.key)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def pr_link(self) -> str:
        """The PR URL when it is safe to render as a link (rows written before validation
        existed, or straight into the database, may hold anything)."""
        return self.pr_url if is_web_url(self.pr_url) else ""

    @property
    def estimate_label(self) -> str:
        low, high = self.estimate_min_hours, self.estimate_max_hours
        if low is None and high is None:
            return ""
        low = high if low is None else low
        high = low if high is None else high
        if low == high:
            return f"{_hours(low)}h"
        return f"{_hours(low)}\u2013{_hours(high)}h"  # en dash

    @property
    def has_estimate(self) -> bool:
        return self.estimate_min_hours is not None or self.estimate_max_hours is not None

    @property
    def remaining_hours(self) -> float:
        """What an open task still costs: its maximum estimate (0 when none or closed;
        totals count the open tasks without an estimate apart: ``remaining_label``)."""
        if not self.is_open:
            return 0.0
        return float(self.estimate_max_hours or self.estimate_min_hours or 0.0)


UNKNOWN_LABEL = "unknown"


def remaining_label(hours: float, estimated: int | None, unestimated: int | None) -> str:
    """ "34.6 h over 21 estimated tasks, 27 without an estimate": a total that says what it
    leaves out (only the hours when the counts are unknown, as on old snapshots)."""
    text = f"{hours:g} h"
    if estimated is None or unestimated is None:
        return text
    text += f" over {estimated} estimated task{'s' if estimated != 1 else ''}"
    if unestimated:
        text += f", {unestimated} without an estimate"
    return text


def qualified_key(plan_slug: str, key: str) -> str:
    """``PLAN:KEY`` as plans write cross-plan references; a task without a plan is ``KEY``."""
    return f"{plan_slug}:{key}" if plan_slug else key


def _hours(value: float) -> str:
    return f"{value:g}" if value >= 1 or value == 0 else f"{value:.2g}"


class TaskDependency(TimeStampedModel):
    """``blocker`` must be done before ``blocked`` starts: the blocker blocks it."""

    blocker = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="blocks_links")
    blocked = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="depends_links")
    # Written by a plan import: a later import of the plan may remove it again.
    from_plan = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "task dependencies"
        constraints = [
            # Also the index of "what does this task block".
            models.UniqueConstraint(fields=["blocker", "blocked"], name="coord_dep_pair_uniq"),
            models.CheckConstraint(
                condition=~Q(blocker=models.F("blocked")), name="coord_dep_not_self"
            ),
        ]
        indexes = [
            # "What does this task wait for": the reverse direction of the unique index.
            models.Index(fields=["blocked", "blocker"], name="coord_dep_blocked_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class AcceptanceItem(TimeStampedModel):
    """One acceptance criterion of a task; a task is done only when every one is checked."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="acceptance_items")
    text = models.TextField()
    done = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["task", "position", "id"]
        indexes = [
            # A task's checklist in order (detail pages, done checks).
            models.Index(fields=["task", "position"], name="coord_accept_task_pos_idx"),
        ]

    def __str__(self) -> str:
        return f"[{'x' if self.done else ' '}] {self.text}"


class TaskEvent(TimeStampedModel):
    """One change of a task: who, when, which field, from what, to what."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events")
    actor_kind = models.CharField(max_length=10, choices=ActorKind, default=ActorKind.SYSTEM)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, blank=True, help_text="e.g. github:octocat")
    field = models.CharField(max_length=50)
    from_value = models.TextField(blank=True)
    to_value = models.TextField(blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # A task's history, newest first (admin inline, detail page).
            models.Index(fields=["task", "-created_at"], name="coord_event_task_time_idx"),
            # The daily report: everything that changed since the previous snapshot.
            models.Index(fields=["created_at"], name="coord_event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.field}: {self.from_value!r} → {self.to_value!r}"

    @property
    def actor(self) -> str:
        if self.actor_label:
            return self.actor_label
        if self.user_id:
            return self.user.get_username()
        if self.agent_id:
            return self.agent.name
        return self.actor_kind


class Snapshot(TimeStampedModel):
    """Totals of the board at one moment: the burn charts and the daily report read these."""

    taken_at = models.DateTimeField()
    # The scheduled time a beat run stands for ("2025-10-15T08:00Z"): a redelivered
    # or duplicated run finds it and takes no second snapshot. Empty for manual ones.
    slot = models.CharField(max_length=40, null=True, blank=True)
    task_count = models.PositiveIntegerField(default=0)
    open_count = models.PositiveIntegerField(default=0)
    done_count = models.PositiveIntegerField(default=0)
    by_status = models.JSONField(default=dict)
    by_owner = models.JSONField(default=dict, help_text="{owner: {status: count}}")
    by_track = models.JSONField(default=dict, help_text="{track: {status: count}}")
    remaining_hours = models.FloatField(default=0.0)
    # What remaining_hours is made of: open tasks with an estimate, and without one
    # (left out of the sum). Null on snapshots taken before they were counted.
    estimated_open_count = models.PositiveIntegerField(null=True, blank=True)
    unestimated_open_count = models.PositiveIntegerField(null=True, blank=True)
    remaining_hours_by_owner = models.JSONField(default=dict)
    task_statuses = models.JSONField(default=dict, help_text="{key: status}, for the daily diff")

    class Meta:
        ordering = ["-taken_at", "-id"]
        get_latest_by = "taken_at"
        constraints = [
            models.UniqueConstraint(fields=["slot"], name="coord_snapshot_slot_uniq"),
        ]
        indexes = [
            # Latest snapshot and the burn chart's series.
            models.Index(fields=["-taken_at"], name="coord_snapshot_time_idx"),
        ]

    def __str__(self) -> str:
        return f"snapshot {self.taken_at:%Y-%m-%d %H:%M} ({self.task_count} tasks)"


class WebhookDelivery(TimeStampedModel):
    """A GitHub delivery we processed; a redelivery of the same id changes nothing."""

    delivery_id = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=50)
    action = models.CharField(max_length=50, blank=True)
    outcome = models.TextField(blank=True)
    tasks = models.ManyToManyField(Task, blank=True, related_name="webhook_deliveries")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event}/{self.action} {self.delivery_id}"

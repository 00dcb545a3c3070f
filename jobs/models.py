"""Job rows and the steps of their flows: the record of long work, never the result backend.

A job is one run of a declared flow (``jobs.flows``); each step of the flow has
a :class:`FlowStep` row holding its state, so a flow resumes where it was
after a lost worker or broker. Writes go through ``jobs.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from lukhas_site.models import TimeStampedModel


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


JOB_ACTIVE = frozenset({JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.WAITING})
JOB_TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # its stage has not been reached
    QUEUED = "queued", "Queued"  # its task is (or is about to be) on the broker
    RUNNING = "running", "Running"  # a worker claimed it and heartbeats
    WAITING = "waiting", "Waiting"  # a condition or a human decision
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"  # the flow failed or was cancelled before it ran
    CANCELLED = "cancelled", "Cancelled"


STEP_OPEN = frozenset({StepStatus.PENDING, StepStatus.QUEUED, StepStatus.WAITING})
STEP_DONE = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED}
)


class StepRole(models.TextChoices):
    STEP = "step", "Step"
    COMPENSATION = "compensation", "Failure path"


class Job(TimeStampedModel):
    """One run of a flow, with its progress, a bounded log and what it works on."""

    kind = models.CharField(max_length=64, help_text="The flow's name (jobs.flows registry).")
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    params = models.JSONField(default=dict, blank=True, help_text="What the flow was given.")
    result = models.JSONField(default=dict, blank=True, help_text="Summary, per step output.")
    error = models.TextField(blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    progress_message = models.CharField(max_length=200, blank=True)
    # The last JOBS_LOG_LINES lines, oldest first: [{"at", "step", "line"}].
    log = models.JSONField(default=list, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    started_by_label = models.CharField(
        max_length=100, blank=True, help_text="Who started it when not a user (api-key:…, cli)."
    )
    # Runs begun by a worker: 1 at the first claim, +1 each time the sweeper
    # resumes it after a lost worker; at max_attempts a lost worker fails it.
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    queue = models.CharField(max_length=64, blank=True, help_text="Celery queue of its steps.")
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True)
    target = GenericForeignKey("content_type", "object_id")
    claimed_by = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("decide_job", "Can approve or reject a waiting step of a job")]
        indexes = [
            # The list page and /api/jobs filtered by kind and status, newest first.
            models.Index(fields=["kind", "status", "-created_at"], name="jobs_job_kind_status"),
            # "the jobs of this dream / this release": the target's page.
            models.Index(fields=["content_type", "object_id"], name="jobs_job_target"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress_done__lte=models.F("progress_total")) | Q(progress_total=0),
                name="jobs_job_progress_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in JOB_TERMINAL


class FlowStep(TimeStampedModel):
    """The persisted state of one step of one job: what a resumed flow starts from."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=64)
    index = models.PositiveIntegerField(
        help_text="Position of its stage; a parallel group shares one."
    )
    role = models.CharField(max_length=16, choices=StepRole.choices, default=StepRole.STEP)
    kind = models.CharField(max_length=16, default="task", help_text="task, wait or approval.")
    status = models.CharField(max_length=16, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When its task should next run (a retry's backoff, a poll, an approval's
    # deadline); the sweeper re-sends a queued step whose message is overdue.
    due_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=16, blank=True, help_text="approved or rejected.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "index", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["job", "name"], name="jobs_flowstep_one_per_name"),
        ]
        indexes = [
            # The sweeper: running steps whose heartbeat stopped, queued ones overdue.
            models.Index(fields=["status", "heartbeat_at"], name="jobs_step_status_heartbeat"),
            models.Index(fields=["status", "due_at"], name="jobs_step_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.name} ({self.status})"

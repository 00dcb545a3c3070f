"""Releases, their soak runs, snapshots and the GA gates' results.

The phases are Argo Rollouts' AnalysisRun phases (plus ``aborted`` for a
run a person stopped), so a reader who knows Argo reads ours unchanged.
A GateResult exists twice: once per snapshot (that evaluation) and once
per run (the gate's standing over the whole soak, with Argo's counters).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from lukhas_site.models import TimeStampedModel


class ReleaseStatus(models.TextChoices):
    CANDIDATE = "candidate", "candidate"
    SOAKING = "soaking", "soaking"
    PROMOTED = "promoted", "promoted"
    REJECTED = "rejected", "rejected"


class Phase(models.TextChoices):
    """A run's or a gate's phase (Argo's AnalysisPhase + aborted for runs)."""

    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    SUCCESSFUL = "successful", "successful"
    FAILED = "failed", "failed"
    ERROR = "error", "error"
    INCONCLUSIVE = "inconclusive", "inconclusive"
    ABORTED = "aborted", "aborted"


# A run in one of these is over: no more snapshots, no more load.
FINISHED_PHASES = (Phase.SUCCESSFUL, Phase.FAILED, Phase.ERROR, Phase.ABORTED)
ACTIVE_PHASES = (Phase.PENDING, Phase.RUNNING)


class Release(TimeStampedModel):
    """A version on its way to GA (``v0.9.0-rc`` → ``v0.9.0``)."""

    name = models.CharField(max_length=100, unique=True, help_text="e.g. v0.9.0-rc")
    version = models.CharField(max_length=64, help_text="The GA version it becomes, e.g. 0.9.0")
    git_ref = models.CharField(max_length=200, blank=True, help_text="Commit or tag soaked.")
    status = models.CharField(
        max_length=16, choices=ReleaseStatus.choices, default=ReleaseStatus.CANDIDATE
    )
    promoted_at = models.DateTimeField(null=True, blank=True)
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    git_tag = models.CharField(max_length=200, blank=True, help_text="The tag promotion made.")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class SoakRun(TimeStampedModel):
    """One soak of a release: load, snapshots at intervals, gates evaluated each time."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="runs")
    target_url = models.CharField(
        max_length=500, blank=True, help_text="Base URL soaked; empty means this site itself."
    )
    planned_hours = models.PositiveIntegerField(default=48)
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Hours of the soak for which a complete snapshot exists; gaps do not count.
    hours_covered = models.FloatField(default=0.0)
    message = models.TextField(blank=True, help_text="Why the run is in its phase.")
    gates_checksum = models.CharField(max_length=64, blank=True)
    gates_version = models.CharField(max_length=32, blank=True)
    # The load profile it runs (configs/soak/load_profile.yaml as read at start)
    # and the Locust process while it runs.
    load_profile = models.JSONField(default=dict, blank=True)
    load_pid = models.PositiveIntegerField(null=True, blank=True)
    load_dir = models.CharField(max_length=500, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_by_label = models.CharField(max_length=100, blank=True)
    aborted_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One active soak per release: a second start is a Conflict, not a second run.
            models.UniqueConstraint(
                fields=["release"],
                condition=Q(phase__in=["pending", "running"]),
                name="soak_one_active_run_per_release",
            ),
        ]
        indexes = [
            # The sentinel's query: every active run, each beat.
            models.Index(fields=["phase"], name="soak_run_phase_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.release.name} soak #{self.pk}"


class Snapshot(TimeStampedModel):
    """One evaluation of every gate during a soak, with its artifacts."""

    run = models.ForeignKey(SoakRun, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField()
    # False when any gate's source had no data or failed: the hour it
    # covers does not count toward the planned hours.
    complete = models.BooleanField(default=False)
    run_phase = models.CharField(
        max_length=16, choices=Phase.choices, help_text="The run's phase after this snapshot."
    )
    gates_checksum = models.CharField(max_length=64)
    # Locust's own figures for the load since the previous snapshot
    # (soak.load.load_results): per request name count, failures, p50…p99.
    load_results = models.JSONField(null=True, blank=True)
    # [{"name", "path", "sha256"}] relative to LUKHAS_SOAK_ARTIFACTS_DIR.
    artifacts = models.JSONField(default=list, blank=True)
    taken_by_label = models.CharField(max_length=100, blank=True, help_text="beat, cli, user:…")

    class Meta:
        ordering = ["-taken_at"]
        indexes = [
            # The page's snapshot list and the series per gate, newest first.
            models.Index(fields=["run", "-taken_at"], name="soak_snapshot_run_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run} @ {self.taken_at:%Y-%m-%d %H:%M}"


class GateResult(TimeStampedModel):
    """A gate's measurement in a snapshot, or (snapshot empty) its standing over the run."""

    run = models.ForeignKey(SoakRun, on_delete=models.CASCADE, related_name="gate_results")
    snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.CASCADE, related_name="gate_results"
    )
    gate_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    source = models.CharField(max_length=32)
    severity = models.CharField(max_length=16)
    advisory = models.BooleanField(default=False, help_text="Shown, never blocking (dryRun).")
    phase = models.CharField(max_length=16, choices=Phase.choices, default=Phase.PENDING)
    # Null when there was no data: unknown, never a pass.
    value = models.FloatField(null=True, blank=True)
    comparator = models.CharField(max_length=4)
    threshold = models.FloatField()
    window = models.CharField(max_length=32)
    message = models.TextField(blank=True)
    query = models.TextField(blank=True, help_text="The resolved query or source read.")
    # Argo's AnalysisRun counters (per-run rows; a snapshot row holds 0/1).
    successful = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    inconclusive = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    consecutive_errors = models.PositiveIntegerField(default=0)
    tasks = models.JSONField(default=list, blank=True, help_text="Tied task keys and statuses.")
    # A person deciding an inconclusive run-level gate (promotion's approval).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["gate_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "gate_id"],
                condition=Q(snapshot__isnull=False),
                name="soak_gate_once_per_snapshot",
            ),
            models.UniqueConstraint(
                fields=["run", "gate_id"],
                condition=Q(snapshot__isnull=True),
                name="soak_gate_once_per_run",
            ),
        ]
        indexes = [
            # The per-gate time series on the page: one gate of one run, in time order.
            models.Index(fields=["run", "gate_id", "created_at"], name="soak_gate_series_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.gate_id}: {self.phase}"


class MetricScrape(TimeStampedModel):
    """The embedded source's scrape of the target's /metrics (only the series the gates need)."""

    run = models.ForeignKey(SoakRun, on_delete=models.CASCADE, related_name="scrapes")
    taken_at = models.DateTimeField()
    ok = models.BooleanField(default=True)
    error = models.TextField(blank=True)
    # {"<metric>{<label>=<value>,…}": value} for the families the SLIs read.
    samples = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["taken_at"]
        indexes = [
            # The SLI's window: a run's scrapes between two times.
            models.Index(fields=["run", "taken_at"], name="soak_scrape_window_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.run} scrape @ {self.taken_at:%H:%M:%S}"


class AlertRecord(TimeStampedModel):
    """An alert that fired during a run (the sentinel's own record, or read from ALERTS)."""

    run = models.ForeignKey(SoakRun, on_delete=models.CASCADE, related_name="alerts")
    name = models.CharField(max_length=200)
    severity = models.CharField(max_length=32)
    source = models.CharField(max_length=32, help_text="sentinel or prometheus")
    fired_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-fired_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.severity})"

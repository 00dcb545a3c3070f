"""Codebases, their health reports, what each collector measured and the findings behind it.

A :class:`HealthReport` is one run of the health-audit flow over one
:class:`Codebase`; each collector (smoke tests, ruff, pip-audit, …) leaves one
:class:`CollectorRun` with its tool, version, exact command line, duration and
bounded raw output, plus the :class:`Finding` rows behind its numbers. The
report holds the summary facts and the quality gate's verdicts. Unknown stays
null: a collector whose tool or data source was unavailable records no value,
never 0. Writes go through ``audits.services``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from lukhas_site.models import TimeStampedModel


class Codebase(TimeStampedModel):
    """A checkout to audit: a path (and optionally its git remote and ref) and its lanes config."""

    name = models.SlugField(max_length=64, unique=True)
    path = models.CharField(
        max_length=500, help_text="Checkout directory; relative paths are from the site's BASE_DIR."
    )
    git_remote = models.CharField(max_length=500, blank=True)
    git_ref = models.CharField(max_length=200, blank=True)
    config_file = models.CharField(
        max_length=500,
        help_text="Lanes config (configs/audits/<name>.yaml): lanes, hot paths, smoke, gate file.",
    )
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GateStatus(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"
    # Not computed yet (the audit runs) or a condition had no value to compare.
    UNKNOWN = "unknown", "Unknown"


class HealthReport(TimeStampedModel):
    """One health audit of a codebase: summary facts, gate verdicts, comparability."""

    codebase = models.ForeignKey(Codebase, on_delete=models.CASCADE, related_name="reports")
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16,
        choices=GateStatus.choices,
        default=GateStatus.UNKNOWN,
        help_text="The main quality gate's status (the first gate of the gate file).",
    )
    git_commit = models.CharField(max_length=64, blank=True)
    gate_file_version = models.CharField(max_length=32, blank=True)
    # {"<gate>": {"status", "name", "conditions": [{"metric", "comparator",
    # "threshold", "actual", "status", "comparable"}]}}; docs/audits.md.
    gate_verdicts = models.JSONField(default=dict, blank=True)
    config_checksum = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the lanes config and the gate file."
    )
    # False when a tool version, rule set or config changed since the previous
    # report: the deltas are shown but not counted as regressions. Null: no
    # previous report to compare with.
    comparable = models.BooleanField(null=True, blank=True)
    comparability_notes = models.JSONField(default=list, blank=True)
    # The key numbers by metric name ("smoke.pass_percent", "ruff.production",
    # "ruff.hot_paths", ...); null where the collector could not measure.
    facts = models.JSONField(default=dict, blank=True)
    artifacts = models.JSONField(default=dict, blank=True, help_text="Paths of files written.")

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            # Latest report per codebase and its history (trends, diff vs previous).
            models.Index(fields=["codebase", "-started_at"], name="audits_report_codebase_time"),
        ]

    def __str__(self) -> str:
        return f"{self.codebase_id} report #{self.pk} ({self.status})"


class CollectorStatus(models.TextChoices):
    # The tool ran and its output was parsed: facts hold the measurement
    # (which may well show failing tests or findings).
    OK = "ok", "OK"
    # The tool ran but gave no measurement: crashed, timed out, unparsable output.
    FAILED = "failed", "Failed"
    # The tool or its data source is missing (not installed, no network):
    # the values are null, never 0.
    UNAVAILABLE = "unavailable", "Unavailable"
    # We could not run it: a configuration mistake or a bug on our side.
    ERROR = "error", "Error"


class CollectorRun(TimeStampedModel):
    """One collector's run for one report: tool, version, command, duration, output, facts."""

    report = models.ForeignKey(
        HealthReport, on_delete=models.CASCADE, related_name="collector_runs"
    )
    collector = models.CharField(max_length=32, help_text="smoke, ruff, coverage, pip_audit, …")
    tool = models.CharField(max_length=64, blank=True)
    tool_version = models.CharField(max_length=64, blank=True)
    command = models.TextField(blank=True, help_text="The exact command line, shell-quoted.")
    duration_seconds = models.FloatField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=CollectorStatus.choices)
    raw_output = models.TextField(blank=True, help_text="stdout+stderr, bounded (head and tail).")
    raw_truncated = models.BooleanField(default=False)
    facts = models.JSONField(default=dict, blank=True)
    # The flat numbers the gate reads ({"ruff.production": 4}); null: unknown.
    metrics = models.JSONField(default=dict, blank=True)
    # What makes two runs like for like besides the tool version (ruff's settings).
    ruleset = models.TextField(blank=True)
    artifacts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["report", "collector"]
        constraints = [
            # A re-run step (lost worker) replaces its row instead of adding one.
            models.UniqueConstraint(
                fields=["report", "collector"], name="audits_collectorrun_one_per_report"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.collector} of report {self.report_id} ({self.status})"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
    INFO = "info", "Info"


class Finding(TimeStampedModel):
    """One thing a collector found (a ruff violation, a failing test, a CVE, a broken link)."""

    report = models.ForeignKey(HealthReport, on_delete=models.CASCADE, related_name="findings")
    collector_run = models.ForeignKey(
        CollectorRun, on_delete=models.CASCADE, related_name="findings"
    )
    collector = models.CharField(max_length=32)
    rule = models.CharField(max_length=200, blank=True, help_text="Rule code, test id, CVE id…")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    lane = models.CharField(max_length=64, blank=True, help_text="production, labs or empty.")
    file = models.CharField(max_length=500, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)
    # sha256 of collector, rule, file and message (not the line): the same
    # finding across reports, so a diff says new / fixed rather than moved.
    fingerprint = models.CharField(max_length=64)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["report", "collector", "file", "line", "pk"]
        indexes = [
            # A report's findings per collector (the page's "findings behind a number").
            models.Index(fields=["report", "collector"], name="audits_finding_report_coll"),
            # Diff against the previous report: fingerprints of two reports.
            models.Index(fields=["report", "fingerprint"], name="audits_finding_report_fp"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(fingerprint=""), name="audits_finding_fingerprint"),
        ]

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{self.collector} {self.rule} {where}".strip()

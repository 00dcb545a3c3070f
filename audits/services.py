"""Writes of the audits app: codebases and their nightly schedule, audits, collector runs, reports.

A health audit is a job of the ``health-audit`` flow (``audits/flows.py``):
``health_audit_start`` creates the :class:`HealthReport` and the job in one
transaction; each collector step calls ``collector_execute`` (runs the tool
in a subprocess, then replaces its CollectorRun and findings, so a step that
runs again after a lost worker leaves one row); the last step calls
``report_finish`` (facts, quality gate, comparability, artifacts).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from audits import artifacts, gates
from audits.collectors import METRICS, Workspace, run_collector
from audits.config import (
    LanesConfig,
    config_checksum,
    gate_file_path,
    load_gate_file,
    load_lanes,
)
from audits.models import Codebase, CollectorRun, Finding, GateStatus, HealthReport
from audits.selectors import codebase_get, report_document, report_get, report_previous
from jobs import services as jobs
from lukhas_site.errors import InvalidRequest

HEALTH_AUDIT_FLOW = "health-audit"
NIGHTLY_TASK = "audits.nightly_audit"


def _site_path(value: str) -> Path:
    path = Path(value)
    return (path if path.is_absolute() else settings.BASE_DIR / path).resolve()


def codebase_config(codebase: Codebase) -> tuple[Path, LanesConfig]:
    """The codebase's lanes config, read now (ConfigError names file and key)."""
    path = _site_path(codebase.config_file)
    return path, load_lanes(path)


def codebase_ensure(*, config_file: str | Path, schedule: bool = True) -> Codebase:
    """Create or update the codebase a lanes config describes, and its nightly PeriodicTask."""
    path = _site_path(str(config_file))
    config = load_lanes(path)
    gate_path = gate_file_path(path, config)
    load_gate_file(gate_path)  # a bad gate file fails now, not at the end of an audit
    try:
        stored = path.relative_to(settings.BASE_DIR).as_posix()
    except ValueError:
        stored = str(path)
    with transaction.atomic():
        codebase, _ = Codebase.objects.update_or_create(
            name=config.name,
            defaults={
                "path": config.path,
                "git_remote": config.git_remote,
                "git_ref": config.git_ref,
                "config_file": stored,
                "description": config.description,
            },
        )
        if schedule:
            codebase_schedule_nightly(codebase=codebase)
    return codebase


def codebase_schedule_nightly(*, codebase: Codebase) -> PeriodicTask:
    """The nightly audit as a django-celery-beat row (editable, pausable in the admin).

    Created once: a time or an enabled flag changed in the admin is kept.
    """
    hour, minute = settings.AUDITS_NIGHTLY_AT
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(minute), hour=str(hour), day_of_week="*", day_of_month="*", month_of_year="*"
    )
    task, _ = PeriodicTask.objects.get_or_create(
        name=f"audits-nightly-{codebase.name}",
        defaults={
            "task": NIGHTLY_TASK,
            "crontab": crontab,
            "kwargs": json.dumps({"codebase": codebase.name}),
            "description": f"Nightly health audit of {codebase.name} (audits app)",
            # An audit that could not start within the hour waits for the next night.
            "expire_seconds": 3600,
        },
    )
    return task


def _git_commit(checkout: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH, like every developer
            cwd=checkout,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def health_audit_start(*, codebase: str, by: Any = None, queue: str = "") -> HealthReport:
    """Create the report and the health-audit job (one transaction); returns the report."""
    row = codebase_get(codebase)
    config_path, config = codebase_config(row)
    checkout = _site_path(config.path)
    if not checkout.is_dir():
        raise InvalidRequest(f"{config_path}: path {config.path!r} is not a directory")
    with transaction.atomic():
        report = HealthReport.objects.create(
            codebase=row, started_at=timezone.now(), git_commit=_git_commit(checkout)
        )
        job = jobs.job_start(
            kind=HEALTH_AUDIT_FLOW,
            params={"report": report.pk, "codebase": row.name},
            target=report,
            by=by,
            queue=queue,
        )
        HealthReport.objects.filter(pk=report.pk).update(job=job)
    return report_get(report.pk)


def artifacts_root(codebase: Codebase) -> Path:
    """The default codebase writes at the artifacts dir's top (what the soak gate reads);
    any other under ``codebases/<name>/``, so two codebases never overwrite one report."""
    base = Path(settings.AUDITS_ARTIFACTS_DIR)
    if _site_path(codebase.config_file) == _site_path(settings.AUDITS_DEFAULT_CONFIG):
        return base
    return base / "codebases" / codebase.name


def _newer_report_exists(report: HealthReport) -> bool:
    return (
        HealthReport.objects.filter(
            codebase=report.codebase, finished_at__isnull=False, started_at__gt=report.started_at
        )
        .exclude(pk=report.pk)
        .exists()
    )


def _workspace(report: HealthReport, collector: str) -> Workspace:
    config_path, config = codebase_config(report.codebase)
    return Workspace(
        config=config,
        config_path=config_path,
        checkout=_site_path(config.path),
        workdir=Path(settings.AUDITS_WORK_DIR) / f"report-{report.pk}" / collector,
        raw_output_bytes=settings.AUDITS_RAW_OUTPUT_CHARS,
    )


def collector_execute(*, report_id: int, collector: str) -> dict[str, Any]:
    """Run one collector for a report and record it (replacing an earlier attempt's row)."""
    report = report_get(report_id)
    workspace = _workspace(report, collector)
    if collector not in workspace.config.collectors:
        return {"collector": collector, "status": "skipped", "why": "not in the lanes config"}
    result = run_collector(collector, workspace)
    with transaction.atomic():
        CollectorRun.objects.filter(report=report, collector=collector).delete()
        run = CollectorRun.objects.create(
            report=report,
            collector=collector,
            tool=result.tool[:64],
            tool_version=result.tool_version[:64],
            command="\n".join(result.commands),
            duration_seconds=round(result.duration, 3),
            exit_code=result.exit_code,
            status=result.status,
            raw_output=result.raw_output,
            raw_truncated=result.raw_truncated,
            facts=result.facts,
            metrics=result.metrics,
            ruleset=str(result.facts.get("ruleset", "")) if isinstance(result.facts, dict) else "",
            artifacts=result.artifacts,
            error=result.error,
        )
        Finding.objects.bulk_create(
            Finding(
                report=report,
                collector_run=run,
                collector=collector,
                rule=f.rule[:200],
                severity=f.severity,
                lane=f.lane[:64],
                file=f.file[:500],
                line=f.line,
                message=f.message,
                fingerprint=f.fingerprint,
                details=f.details,
            )
            for f in result.findings
        )
    return {
        "collector": collector,
        "status": result.status,
        "metrics": result.metrics,
        "findings": len(result.findings),
        "error": result.error,
    }


def report_finish(*, report_id: int) -> HealthReport:
    """Facts from every collector, the gates, comparability vs the previous report, artifacts."""
    report = report_get(report_id)
    config_path, config = codebase_config(report.codebase)
    gate_path = gate_file_path(config_path, config)
    gate_file = load_gate_file(gate_path)
    runs = list(CollectorRun.objects.filter(report=report))
    facts: dict[str, Any] = {}
    for name in config.collectors:
        facts |= dict.fromkeys(METRICS.get(name, ()))
    for run in runs:
        facts |= run.metrics
    checksum = config_checksum(config_path, gate_path)
    previous = report_previous(report)
    identity = {r.collector: {"tool_version": r.tool_version, "ruleset": r.ruleset} for r in runs}
    before = (
        {
            r.collector: {"tool_version": r.tool_version, "ruleset": r.ruleset}
            for r in CollectorRun.objects.filter(report=previous)
        }
        if previous is not None
        else None
    )
    comparable, notes, changed = gates.comparability(
        identity,
        before,
        config_checksum=checksum,
        previous_checksum=previous.config_checksum if previous is not None else None,
    )
    verdicts = gates.evaluate(gate_file, facts, changed)
    main = verdicts[gate_file.gates[0].name]
    with transaction.atomic():
        HealthReport.objects.filter(pk=report.pk).update(
            facts=facts,
            gate_verdicts=verdicts,
            status=main["status"],
            gate_file_version=gate_file.version,
            config_checksum=checksum,
            comparable=comparable,
            comparability_notes=notes,
            finished_at=timezone.now(),
            artifacts={"tracking": gates.tracking_table(gate_file, verdicts)},
        )
        report = report_get(report.pk)
        document = report_document(report)
        # Two audits of one codebase finishing out of order: the older one must
        # not overwrite the newer one's "latest" files.
        if _newer_report_exists(report):
            return report
        root = artifacts_root(report.codebase)
        sbom = next((r.artifacts.get("sbom") for r in runs if r.artifacts.get("sbom")), None)
        paths = artifacts.write_artifacts(
            document, root, day=report.started_at.date().isoformat(), sbom=sbom
        )
        base = Path(settings.AUDITS_ARTIFACTS_DIR)
        files = {name: str((root / path).relative_to(base)) for name, path in paths.items()}
        HealthReport.objects.filter(pk=report.pk).update(
            artifacts={"tracking": document["tracking"], "files": files}
        )
    return report_get(report.pk)


def report_abandon(*, report_id: int, error: str) -> None:
    """The failure path of the flow: the report ends without a gate (status unknown)."""
    HealthReport.objects.filter(pk=report_id, finished_at__isnull=True).update(
        status=GateStatus.UNKNOWN,
        comparability_notes=[f"the audit did not finish: {error}"[:500]],
    )

"""Celery tasks of the audits app: thin; the work is in services (and the health-audit flow)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from audits import services


@shared_task(name=services.NIGHTLY_TASK, acks_late=True)
def nightly_audit(codebase: str) -> dict[str, Any]:
    """Beat's nightly audit of one codebase (a PeriodicTask per codebase): starts the job."""
    report = services.health_audit_start(codebase=codebase, by="beat")
    return {"report": report.pk, "job": report.job_id}

"""Reads of jobs and flows, shaped for the pages, the API and the CLI."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count, Prefetch

from jobs.flows import Approval, Parallel, Wait, all_flows
from jobs.models import FlowStep, Job, JobStatus, StepRole, StepStatus
from lukhas_site.errors import InvalidRequest, NotFound

LOG_TAIL = 50


def job_list(*, kind: str = "", status: str = "") -> models.QuerySet[Job]:
    """Jobs newest first, filtered by kind and status (the list page and /api/jobs)."""
    jobs = Job.objects.select_related("started_by").defer("log", "result", "params")
    if kind:
        jobs = jobs.filter(kind=kind)
    if status:
        if status not in JobStatus.values:
            raise InvalidRequest(
                f"status {status!r} is not one of {', '.join(JobStatus.values)}", param="status"
            )
        jobs = jobs.filter(status=status)
    return jobs


def job_detail(pk: int) -> Job:
    """One job with its steps (and who decided them), or 404."""
    steps = FlowStep.objects.select_related("decided_by").order_by("index", "pk")
    job = (
        Job.objects.select_related("started_by", "cancelled_by", "content_type")
        .prefetch_related(Prefetch("steps", queryset=steps))
        .filter(pk=pk)
        .first()
    )
    if job is None:
        raise NotFound(f"No job {pk}.", param="id")
    return job


def jobs_for(target: models.Model) -> models.QuerySet[Job]:
    """The jobs that work on ``target`` (a dream, a release, a plan upload)."""
    return Job.objects.filter(
        content_type=ContentType.objects.get_for_model(target), object_id=str(target.pk)
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def step_snapshot(step: FlowStep) -> dict[str, Any]:
    return {
        "name": step.name,
        "index": step.index,
        "role": step.role,
        "kind": step.kind,
        "status": step.status,
        "attempts": step.attempts,
        "output": step.output,
        "error": step.error,
        "claimed_by": step.claimed_by,
        "started_at": _iso(step.started_at),
        "finished_at": _iso(step.finished_at),
        "deadline_at": _iso(step.deadline_at),
        "decision": step.decision,
        "decided_by": step.decided_by.get_username() if step.decided_by else "",
        "decided_at": _iso(step.decided_at),
        "reason": step.reason,
    }


def job_snapshot(job: Job) -> dict[str, Any]:
    """The progress JSON the page polls and /api/jobs/{id} returns: one shape for both."""
    steps = list(job.steps.all())
    total = job.progress_total
    percent = round(100 * job.progress_done / total) if total else (100 if job.is_terminal else 0)
    target = None
    if job.content_type_id:
        target = {"type": job.content_type.model_class()._meta.label_lower, "id": job.object_id}
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "terminal": job.is_terminal,
        "progress": {
            "done": job.progress_done,
            "total": total,
            "percent": percent,
            "message": job.progress_message,
        },
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "error": job.error,
        "result": job.result,
        "params": job.params,
        "target": target,
        "started_by": job.started_by.get_username() if job.started_by else job.started_by_label,
        "claimed_by": job.claimed_by,
        "heartbeat_at": _iso(job.heartbeat_at),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "steps": [step_snapshot(step) for step in steps],
        "waiting_for_decision": [
            s.name for s in steps if s.kind == "approval" and s.status == StepStatus.WAITING
        ],
        "log": job.log[-LOG_TAIL:],
        "url": f"{settings.JOBS_BASE_URL.rstrip('/')}/jobs/{job.pk}/",
    }


def flows_overview() -> list[dict[str, Any]]:
    """Every declared flow, its stages, and how many of its jobs are in each status."""
    counts: dict[str, dict[str, int]] = {}
    for row in Job.objects.values("kind", "status").annotate(n=Count("pk")).order_by():
        counts.setdefault(row["kind"], {})[row["status"]] = row["n"]
    overview = []
    for flow in all_flows():
        stages = []
        for declared in flow.steps:
            members = declared.steps if isinstance(declared, Parallel) else (declared,)
            stages.append(
                {
                    "parallel": isinstance(declared, Parallel),
                    "steps": [
                        {
                            "name": step.name,
                            "kind": step.kind,
                            "detail": _describe(step),
                        }
                        for step in members
                    ],
                }
            )
        overview.append(
            {
                "name": flow.name,
                "description": flow.description,
                "stages": stages,
                "on_failure": flow.on_failure.name if flow.on_failure else "",
                "counts": counts.get(flow.name, {}),
            }
        )
    return overview


def _describe(step: Any) -> str:
    if isinstance(step, Approval):
        return f"human decision within {step.timeout:g}s"
    if isinstance(step, Wait):
        return f"polled every {step.poll:g}s, up to {step.timeout:g}s"
    retries = f", {step.retries} retries (backoff {step.backoff:g}s)" if step.retries else ""
    return f"task{retries}"


def timeline(job: Job) -> list[dict[str, Any]]:
    """The steps of a run in order, main steps first, then the failure path."""
    steps = sorted(job.steps.all(), key=lambda s: (s.role != StepRole.STEP, s.index, s.pk))
    return [step_snapshot(step) for step in steps]

"""Celery tasks of jobs: one per declared step (``jobs.<flow>.<step>``) and the sweeper.

Thin: each takes ids, and the service re-reads the rows and does the work.
All are ``acks_late`` and safe to deliver twice (the step is claimed with a
filtered update; a second delivery does nothing).
"""

from __future__ import annotations

import os
from typing import Any

from celery import shared_task
from django.conf import settings

from jobs import flows, services

_registered: set[str] = set()


def _make_step_task(flow: flows.Flow, step: flows.AnyStep) -> None:
    name = flow.task_name(step.name)
    if name in _registered:
        return
    time_limit = getattr(step, "time_limit", None) or settings.CELERY_TASK_TIME_LIMIT
    step_name = step.name

    @shared_task(
        name=name,
        bind=True,
        acks_late=True,
        time_limit=time_limit,
        soft_time_limit=max(1, time_limit - 30),
    )
    def run_step(self: Any, job_id: int) -> dict[str, Any]:
        worker = f"{self.request.hostname or 'local'}/{os.getpid()}"
        outcome = services.step_execute(job_id=job_id, step_name=step_name, worker=worker)
        return {"job": job_id, "step": step_name, "outcome": outcome}

    _registered.add(name)


def _register_flow(flow: flows.Flow) -> None:
    for _, step in flow.all_steps():
        if not isinstance(step, flows.Approval):  # decided by people, not by a worker
            _make_step_task(flow, step)
    if flow.on_failure is not None:
        _make_step_task(flow, flow.on_failure)


def register_step_tasks() -> None:
    """Make the task of every declared step, and of every flow declared later."""
    flows.on_register(_register_flow)


@shared_task(name="jobs.sweep", acks_late=True, time_limit=120, soft_time_limit=100)
def sweep() -> dict[str, list]:
    """Beat's round (JOBS_SWEEP_SECONDS). No lock needed: every repair is a filtered update."""
    return services.jobs_sweep().as_dict()

"""The jobs ops API, under ``/api/jobs/``: read jobs, decide approvals, cancel, retry.

Authentication comes from the ``/api`` root (an API key or a dashboard
session). Reads need ``jobs:read``; changes need ``jobs:write`` and, for a
session, the Django permission named with it (``jobs.decide_job`` to approve
or reject, ``jobs.change_job`` to cancel or retry). Writes go through
``jobs.services``, like the pages and the admin.
"""

# No `from __future__ import annotations`: ninja reads these annotations at import time.

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import PageNumberPagination, paginate

from guardian.permissions import require_scope
from jobs import selectors, services
from jobs.schemas import CancelIn, DecisionIn, FlowOut, JobFilter, JobListOut, JobOut

router = Router()

READ = ("jobs:read", None)
DECIDE = ("jobs:write", "jobs.decide_job")
CHANGE = ("jobs:write", "jobs.change_job")


def _allow(request: HttpRequest, need: tuple[str, str | None]) -> Any:
    scope, perm = need
    return require_scope(request, scope, perm=perm)


def _actor(request: HttpRequest) -> Any:
    principal = request.auth
    if principal.kind == "user":
        return principal.user
    return f"api-key:{principal.label}"


def _snapshot(pk: int) -> dict[str, Any]:
    return selectors.job_snapshot(selectors.job_detail(pk))


@router.get(
    "/",
    response=list[JobListOut],
    url_name="jobs-list",
    operation_id="jobs_list",
)
@paginate(PageNumberPagination, page_size=50, max_page_size=500)
def jobs_list(request: HttpRequest, filters: Query[JobFilter]) -> Any:
    """Jobs newest first, filtered by kind (flow name) and status."""
    _allow(request, READ)
    return selectors.job_list(kind=filters.kind, status=filters.status)


@router.get("/flows", response=list[FlowOut], url_name="jobs-flows", operation_id="jobs_flows")
def flows_list(request: HttpRequest) -> Any:
    """The declared flows, their stages, and how many jobs of each are in each status."""
    _allow(request, READ)
    return selectors.flows_overview()


@router.get("/{int:job_id}", response=JobOut, url_name="jobs-get", operation_id="jobs_get")
def job_get(request: HttpRequest, job_id: int) -> Any:
    """One job: status, progress, steps (a timeline) and the log tail."""
    _allow(request, READ)
    return _snapshot(job_id)


@router.post(
    "/{int:job_id}/approve",
    response=JobOut,
    url_name="jobs-approve",
    operation_id="jobs_approve",
)
def job_approve(request: HttpRequest, job_id: int, payload: DecisionIn) -> Any:
    """Approve the step the job waits on (``step`` names it when several could)."""
    _allow(request, DECIDE)
    job = selectors.job_detail(job_id)
    services.step_decide(
        job=job, approve=True, by=_actor(request), reason=payload.reason, step_name=payload.step
    )
    return _snapshot(job_id)


@router.post(
    "/{int:job_id}/reject",
    response=JobOut,
    url_name="jobs-reject",
    operation_id="jobs_reject",
)
def job_reject(request: HttpRequest, job_id: int, payload: DecisionIn) -> Any:
    """Reject the step the job waits on, with a reason (the flow fails, its failure path runs)."""
    _allow(request, DECIDE)
    job = selectors.job_detail(job_id)
    services.step_decide(
        job=job, approve=False, by=_actor(request), reason=payload.reason, step_name=payload.step
    )
    return _snapshot(job_id)


@router.post(
    "/{int:job_id}/cancel",
    response=JobOut,
    url_name="jobs-cancel",
    operation_id="jobs_cancel",
)
def job_cancel(request: HttpRequest, job_id: int, payload: CancelIn) -> Any:
    """Cancel a queued, running or waiting job (a running step stops at its next check)."""
    _allow(request, CHANGE)
    services.job_cancel(job=selectors.job_detail(job_id), by=_actor(request), reason=payload.reason)
    return _snapshot(job_id)


@router.post(
    "/{int:job_id}/retry",
    response=JobOut,
    url_name="jobs-retry",
    operation_id="jobs_retry",
)
def job_retry(request: HttpRequest, job_id: int) -> Any:
    """Run a failed or cancelled job again from the step where it stopped."""
    _allow(request, CHANGE)
    services.job_retry(job=selectors.job_detail(job_id), by=_actor(request))
    return _snapshot(job_id)

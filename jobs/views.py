"""Pages of jobs: the flows and recent runs, one run's timeline, and its progress JSON."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from jobs import selectors, services
from jobs.models import JobStatus
from lukhas_site.errors import LukhasError, PermissionDenied, render_error

DECIDE_PERMISSION = "jobs.decide_job"
CHANGE_PERMISSION = "jobs.change_job"
STATUS_BADGES = {
    JobStatus.SUCCEEDED: "ok",
    JobStatus.FAILED: "fail",
    JobStatus.CANCELLED: "fail",
    JobStatus.WAITING: "warn",
}


@login_required
@require_GET
def job_index(request: HttpRequest) -> HttpResponse:
    """Declared flows, then the runs, newest first, filtered by kind and status."""
    kind = request.GET.get("kind", "")
    status = request.GET.get("status", "")
    if status and status not in JobStatus.values:
        status = ""
    page = Paginator(selectors.job_list(kind=kind, status=status), 50).get_page(
        request.GET.get("page")
    )
    for job in page:
        job.badge = STATUS_BADGES.get(job.status, "")
    context = {
        "flows": selectors.flows_overview(),
        "page": page,
        "kind": kind,
        "status": status,
        "statuses": JobStatus.choices,
    }
    return render(request, "jobs/index.html", context)


@login_required
@require_GET
def job_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """One run: progress bar, steps as a timeline, the log tail; the JS keeps it current."""
    try:
        job = selectors.job_detail(job_id)
    except LukhasError:
        return render(request, "404.html", status=404)
    context = {
        "job": job,
        "snapshot": selectors.job_snapshot(job),
        "timeline": selectors.timeline(job),
        "badge": STATUS_BADGES.get(job.status, ""),
        "can_decide": request.user.has_perm(DECIDE_PERMISSION),
        "can_change": request.user.has_perm(CHANGE_PERMISSION),
    }
    return render(request, "jobs/job.html", context)


@login_required
@require_GET
@never_cache
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The JSON the job page polls (the same shape as GET /api/jobs/{id})."""
    try:
        return JsonResponse(selectors.job_snapshot(selectors.job_detail(job_id)))
    except LukhasError as exc:
        return render_error(request, exc)


@login_required
@require_POST
def job_decide(request: HttpRequest, job_id: int) -> HttpResponse:
    """Approve or reject the step the job waits on (the form on the job page)."""
    try:
        if not request.user.has_perm(DECIDE_PERMISSION):
            raise PermissionDenied("Deciding needs the 'Can approve or reject' jobs permission.")
        job = selectors.job_detail(job_id)
        verdict = request.POST.get("decision")
        if verdict not in {"approve", "reject"}:
            raise LukhasError("Choose approve or reject.", param="decision")
        step = services.step_decide(
            job=job,
            approve=verdict == "approve",
            by=request.user,
            reason=request.POST.get("reason", ""),
            step_name=request.POST.get("step") or None,
        )
        messages.success(request, f"{step.name}: {step.decision}.")
    except LukhasError as exc:
        messages.error(request, exc.message)
    return redirect("jobs-job", job_id=job_id)


@login_required
@require_POST
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    """Cancel the job (the button on the job page)."""
    try:
        if not request.user.has_perm(CHANGE_PERMISSION):
            raise PermissionDenied("Cancelling needs the 'Can change job' permission.")
        services.job_cancel(
            job=selectors.job_detail(job_id),
            by=request.user,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, "Cancelled.")
    except LukhasError as exc:
        messages.error(request, exc.message)
    return redirect("jobs-job", job_id=job_id)

"""Pages of the Coordination section: the board, moves, plan import, downloads, a task.

Views are thin: filters come from ``filters.TaskFilter``, reads from
``selectors``, writes from ``services`` (``services.plan_import`` for plans).
Every page asks Guardian the same question as the ops API for the same
operation (``access.allow``: ``require_scope`` with the Django permission as its
second condition), so a policy kill switch stops a board move as it stops the API.
Refusals are the site's exceptions: a message on a page, the ops envelope
(``lukhas_site.errors.render_error``) for the board's fetch calls.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coordination import charts, selectors, services
from coordination.access import CREATE, READ, WRITE, allow, offers
from coordination.exports import CONTENT_TYPES, EXPORT_NAMES, export_bundle
from coordination.filters import TaskFilter
from coordination.forms import PlanUploadForm
from coordination.models import TRANSITIONS, Priority, Risk, Task, status_label
from coordination.services.plan_import import (
    plan_import,
    plan_import_runs_as_job,
    plan_import_start,
)
from lukhas_site.errors import LukhasError, PermissionDenied, render_error


def _forbidden(request: HttpRequest, exc: LukhasError) -> HttpResponse:
    return render(request, "coordination/forbidden.html", {"message": exc.message}, status=403)


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch" or "application/json" in (
        request.headers.get("Accept", "")
    )


def _back(request: HttpRequest) -> str:
    """Where a form post returns: its ``next`` if it is a page of this site, else the board."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("coordination")


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    try:
        allow(request, READ)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    filters, problems = TaskFilter.from_querydict(request.GET)
    data = selectors.board_build(
        filters=filters, column_limit=settings.COORDINATION_BOARD_COLUMN_LIMIT
    )
    context: dict[str, Any] = {
        "board": data,
        "filter_values": filters.as_query(),
        "filter_problems": problems,
        "can_change": offers(request, WRITE),
        "can_import": offers(request, CREATE),
        "upload_form": PlanUploadForm(),
        "exports": EXPORT_NAMES,
        "chart_owner_status": charts.owner_status_chart(data.totals),
        "chart_burn": charts.burn_chart(data.snapshots, now=data.totals),
        "chart_remaining": charts.remaining_by_owner_chart(data.totals),
        "priorities": TaskFilter.choices_with_unknown(Priority.choices),
        "risks": TaskFilter.choices_with_unknown(Risk.choices),
    }
    return render(request, "coordination/board.html", context)


@login_required
@require_POST
def task_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a card: the board's fetch (JSON back) or a plain form post (redirect back)."""
    try:
        allow(request, WRITE)
    except PermissionDenied as exc:
        if _wants_json(request):
            return render_error(request, exc)
        return _forbidden(request, exc)
    task = get_object_or_404(Task, pk=pk)
    to, reason = request.POST.get("to", ""), request.POST.get("reason", "")
    try:
        task = services.task_transition(task=task, to=to, by=request.user, reason=reason)
    except LukhasError as exc:
        if _wants_json(request):
            return render_error(request, exc)
        messages.error(request, exc.message)
        return redirect(_back(request))
    if _wants_json(request):
        return JsonResponse(
            {
                "task": {
                    "id": task.pk,
                    "key": task.key,
                    "status": task.status,
                    "status_label": task.get_status_display(),
                    "blocked_reason": task.blocked_reason,
                    "moves": [
                        {"status": s, "label": status_label(s)} for s in TRANSITIONS[task.status]
                    ],
                }
            }
        )
    messages.success(request, f"{task.key} is now {task.get_status_display().lower()}.")
    return redirect(_back(request))


@login_required
@require_http_methods(["GET", "POST"])
def plan_upload(request: HttpRequest) -> HttpResponse:
    """Import a plan: in the request, or (above LUKHAS_PLAN_IMPORT_JOB_BYTES) as a job.

    A large plan is stored and imported by the ``plan-import`` job; the page then
    redirects to the job's page, which shows its progress bar, steps and log.
    """
    try:
        allow(request, CREATE)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    report = None
    form = PlanUploadForm(request.POST, request.FILES) if request.method == "POST" else None
    if form is not None and form.is_valid():
        data, name = form.cleaned_data["data"], form.cleaned_data["file"].name
        dry_run = form.cleaned_data["dry_run"]
        prefer_plan = form.cleaned_data["prefer_plan"]
        try:
            if plan_import_runs_as_job(len(data), dry_run=dry_run):
                job = plan_import_start(
                    data=data,
                    source_name=name,
                    by=request.user,
                    plan=form.plan,
                    prefer_plan=prefer_plan,
                )
                messages.info(
                    request,
                    f"{name} is large ({len(data):,} bytes): job #{job.pk} imports it. "
                    "This page follows it; the tasks are on the board once it succeeded.",
                )
                return redirect(reverse("jobs-job", args=[job.pk]))
            report = plan_import(
                plan=form.plan,
                by=request.user,
                dry_run=dry_run,
                content=form.cleaned_data["content"],
                prefer_plan=prefer_plan,
            )
        except LukhasError as exc:
            form.add_error("file", exc.message)
    form = form or PlanUploadForm()
    status = 400 if request.method == "POST" and form.errors else 200
    context = {
        "form": form,
        "report": report,
        "job_threshold": settings.COORDINATION_PLAN_IMPORT_JOB_BYTES,
    }
    return render(request, "coordination/import.html", context, status=status)


@login_required
@require_GET
def export_download(request: HttpRequest, name: str) -> HttpResponse:
    """task_status.json, COORDINATION_DASHBOARD.md or the daily report, of the board now."""
    try:
        allow(request, READ)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    if name not in EXPORT_NAMES:
        return render(request, "404.html", status=404)
    content = export_bundle().files[name]
    response = HttpResponse(content, content_type=CONTENT_TYPES[name])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        allow(request, READ)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    task = get_object_or_404(selectors.task_list(), pk=pk)
    return render(
        request,
        "coordination/task.html",
        {
            "task": task,
            "events": selectors.task_events(task),
            "can_change": offers(request, WRITE),
            "moves": [(s, status_label(s)) for s in TRANSITIONS[task.status]],
        },
    )

"""Pages of the Soak section: the running soak, its gates and charts, snapshots, history.

Reads come from ``soak.selectors``; every button posts to a view that asks
``soak.access`` (Guardian) and calls a service. A refusal (a soak already
running, failing gates) comes back as a message on the page, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from lukhas_site.errors import LukhasError, PermissionDenied
from soak import access, charts, evidence, selectors, services
from soak.forms import AbortForm, DecideForm, PromoteForm, StartForm
from soak.models import GateResult, Release, SoakRun
from soak.services import promotion

SNAPSHOTS_PER_PAGE = 20
PHASE_BADGES = {
    "successful": "ok",
    "failed": "fail",
    "error": "fail",
    "inconclusive": "warn",
    "aborted": "warn",
}


def _forbidden(request: HttpRequest, exc: LukhasError) -> HttpResponse:
    return render(request, "soak/forbidden.html", {"message": exc.message}, status=403)


def _elapsed_hours(run: SoakRun) -> float | None:
    if run.started_at is None:
        return None
    end = run.ended_at or timezone.now()
    return max(0.0, (end - run.started_at).total_seconds() / 3600)


def _page(request: HttpRequest, run: SoakRun | None, *, extra: dict[str, Any] | None = None) -> Any:
    context: dict[str, Any] = {
        "run": run,
        "history": list(selectors.runs_history(limit=20)),
        "badges": PHASE_BADGES,
        "can_start": access.offers(request, access.START),
        "can_snapshot": access.offers(request, access.SNAPSHOT),
        "can_abort": access.offers(request, access.ABORT),
        "can_promote": access.offers(request, access.PROMOTE),
        "start_form": StartForm(),
        "abort_form": AbortForm(),
        "promote_form": PromoteForm(),
        "decide_form": DecideForm(),
    }
    if run is not None:
        gates = list(selectors.run_gate_results(run).select_related("decided_by"))
        series = selectors.gate_series(run)
        figures = [
            {
                "id": row.gate_id,
                "json": charts.safe_json(
                    charts.gate_figure(row.gate_id, row.title, series.get(row.gate_id, []))
                ),
            }
            for row in gates
        ]
        sparks = {
            gate_id: mark_safe(charts.sparkline_svg(points))  # noqa: S308 - numbers only
            for gate_id, points in series.items()
        }
        snapshots = Paginator(
            selectors.run_snapshots(run).prefetch_related(
                Prefetch("gate_results", queryset=GateResult.objects.order_by("gate_id"))
            ),
            SNAPSHOTS_PER_PAGE,
        ).get_page(request.GET.get("page"))
        release = run.release
        pack = evidence.pack_path(release)
        context.update(
            {
                "gates": [(row, sparks.get(row.gate_id, "")) for row in gates],
                "figures": figures,
                "snapshots": snapshots,
                "elapsed": _elapsed_hours(run),
                "active": run.phase in ("pending", "running"),
                "check": promotion.promotion_check(release=release),
                "promotion_job": promotion.promotion_job(release),
                "has_pack": pack.is_file(),
            }
        )
    context.update(extra or {})
    return context


@login_required
@require_GET
def soak_index(request: HttpRequest) -> HttpResponse:
    try:
        run = selectors.run_for_page(release=request.GET.get("release") or None)
    except LukhasError as exc:
        raise Http404(exc.message) from None
    return render(request, "soak/index.html", _page(request, run))


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        run = selectors.run_by_pk(pk)
    except LukhasError as exc:
        raise Http404(exc.message) from None
    return render(request, "soak/index.html", _page(request, run, extra={"detail": True}))


def _back(run: SoakRun | None = None) -> HttpResponse:
    if run is not None:
        return redirect(reverse("soak-run", args=[run.pk]))
    return redirect(reverse("soak"))


@login_required
@require_POST
def soak_start(request: HttpRequest) -> HttpResponse:
    try:
        access.allow(request, access.START)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    form = StartForm(request.POST)
    if not form.is_valid():
        page = _page(request, selectors.run_for_page(), extra={"start_form": form})
        return render(request, "soak/index.html", page, status=400)
    try:
        run = services.soak_start(
            release=form.cleaned_data["release"],
            planned_hours=form.cleaned_data["planned_hours"],
            target_url=form.cleaned_data["target_url"] or "",
            by=request.user,
        )
    except LukhasError as exc:
        messages.error(request, exc.message)
        return _back()
    messages.success(request, f"Started soak #{run.pk} of {run.release.name}.")
    return _back()


def _run_or_404(pk: int) -> SoakRun:
    try:
        return selectors.run_by_pk(pk)
    except LukhasError as exc:
        raise Http404(exc.message) from None


@login_required
@require_POST
def snapshot_now(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        access.allow(request, access.SNAPSHOT)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    run = _run_or_404(pk)
    try:
        snapshot = services.snapshot_take(run=run, by_label=f"user:{request.user.get_username()}")
    except LukhasError as exc:
        messages.error(request, exc.message)
        return _back(run)
    state = "complete" if snapshot.complete else "incomplete (some gates had no data)"
    messages.success(request, f"Snapshot #{snapshot.pk} taken: {state}.")
    return _back(run)


@login_required
@require_POST
def soak_abort(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        access.allow(request, access.ABORT)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    run = _run_or_404(pk)
    form = AbortForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the soak is aborted.")
        return _back(run)
    try:
        services.soak_abort(run=run, by=request.user, reason=form.cleaned_data["reason"])
    except LukhasError as exc:
        messages.error(request, exc.message)
        return _back(run)
    messages.success(request, f"Soak #{run.pk} aborted.")
    return _back(run)


def _release_or_404(name: str) -> Release:
    try:
        return selectors.release_by_name(name)
    except LukhasError as exc:
        raise Http404(exc.message) from None


@login_required
@require_POST
def release_promote(request: HttpRequest, name: str) -> HttpResponse:
    try:
        access.allow(request, access.PROMOTE)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    release = _release_or_404(name)
    form = PromoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return _back()
    try:
        job = promotion.promotion_start(
            release=release,
            by=request.user,
            approve_inconclusive=form.cleaned_data["approve_inconclusive"],
            tag=form.cleaned_data["tag"],
        )
    except LukhasError as exc:
        messages.error(request, exc.message)
        return _back()
    messages.success(request, f"Promotion of {release.name} started (job {job.pk}).")
    return redirect(reverse("jobs-job", args=[job.pk]))


@login_required
@require_POST
def release_decide(request: HttpRequest, name: str) -> HttpResponse:
    try:
        access.allow(request, access.PROMOTE)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    release = _release_or_404(name)
    form = DecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the inconclusive gates may pass.")
        return _back()
    job = promotion.promotion_job(release)
    try:
        rows = promotion.gates_decide(
            release=release,
            reason=form.cleaned_data["reason"],
            by=request.user,
            job_id=job.pk if job else None,
        )
    except LukhasError as exc:
        messages.error(request, exc.message)
        return _back()
    messages.success(request, f"Decided: {', '.join(r.gate_id for r in rows)}.")
    return _back()


@login_required
@require_GET
def release_evidence(request: HttpRequest, name: str) -> HttpResponse:
    try:
        access.allow(request, access.READ)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    path = evidence.pack_path(_release_or_404(name))
    if not path.is_file():
        raise Http404(f"{name} has no evidence pack yet")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)

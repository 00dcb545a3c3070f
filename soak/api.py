"""The soak ops API, under ``/api/soak/``: releases, runs, snapshots, gates, promotion.

Authentication comes from the ``/api`` root (an API key or a dashboard
session). Reads need ``ops:read``; writes need ``ops:write`` and, for a
session, the Django permission of ``soak.access``. Writes go through the
services, like the pages and the commands; a refused promotion is a 409
whose ``details.failing_gates`` lists threshold, comparator and actual.
"""

# No `from __future__ import annotations`: ninja reads these annotations at import time.

from typing import Any

from django.db.models import Prefetch
from django.http import FileResponse, HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from jobs import selectors as job_selectors
from jobs.schemas import JobOut
from lukhas_site.errors import NotFound
from soak import access, evidence, selectors, services
from soak.models import GateResult, Release, Snapshot, SoakRun
from soak.schemas import (
    AbortIn,
    DecideIn,
    GateOut,
    PromoteIn,
    ReleaseOut,
    RunFilter,
    RunOut,
    SoakSnapshotOut,
    StartIn,
)
from soak.services import promotion

router = Router()

# Bounds of what the API reads from a query or a path (as coordination's): an
# unbounded page or id becomes an SQL integer past 64 bits, a 500 on SQLite.
MAX_PAGE = 100_000
MAX_ID = 2**63 - 1


class BoundedPagination(PageNumberPagination):
    """Ninja's page-number pagination with the page and its size bounded (422 past them)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE:,}")
        page_size: int | None = Field(None, ge=1, le=200, description="1 to 200")


def _run(run_id: int) -> SoakRun:
    if run_id > MAX_ID:
        raise NotFound(f"no soak run #{run_id}", param="run")
    return selectors.run_by_pk(run_id)


def _user(request: HttpRequest) -> Any:
    principal = request.auth
    return principal.user if principal.kind == "user" else None


def _label(request: HttpRequest) -> str:
    principal = request.auth
    return "" if principal.kind == "user" else f"api-key:{principal.label}"


def _snapshots(run_id: int) -> Any:
    run = _run(run_id)
    gates = Prefetch("gate_results", queryset=GateResult.objects.order_by("gate_id"))
    return selectors.run_snapshots(run).prefetch_related(gates)


@router.get(
    "/releases", response=list[ReleaseOut], url_name="soak-releases", operation_id="soak_releases"
)
@paginate(BoundedPagination, page_size=50)
def releases_list(request: HttpRequest) -> Any:
    """Releases newest first."""
    access.allow(request, access.READ)
    return Release.objects.order_by("-created_at", "-pk")


@router.get("/runs", response=list[RunOut], url_name="soak-runs", operation_id="soak_runs_list")
@paginate(BoundedPagination, page_size=50)
def runs_list(request: HttpRequest, filters: Query[RunFilter]) -> Any:
    """Soak runs newest first, filtered by release name and phase."""
    access.allow(request, access.READ)
    # soak.selectors (soak-core's) has no unsliced run list yet; this is that read.
    runs = SoakRun.objects.select_related("release").order_by("-created_at", "-pk")
    return filters.filter(runs)


@router.get("/runs/{int:run_id}", response=RunOut, url_name="soak-run", operation_id="soak_run_get")
def run_get(request: HttpRequest, run_id: int) -> Any:
    """One run: phase, hours covered of the planned hours, why it is in its phase."""
    access.allow(request, access.READ)
    return _run(run_id)


@router.get(
    "/runs/{int:run_id}/gates",
    response=list[GateOut],
    url_name="soak-run-gates",
    operation_id="soak_run_gates",
)
def run_gates(request: HttpRequest, run_id: int) -> Any:
    """The gates' standing over the run (Argo's counters, decisions)."""
    access.allow(request, access.READ)
    return selectors.run_gate_results(_run(run_id))


@router.get(
    "/runs/{int:run_id}/snapshots",
    response=list[SoakSnapshotOut],
    url_name="soak-run-snapshots",
    operation_id="soak_run_snapshots",
)
@paginate(BoundedPagination, page_size=20)
def run_snapshots(request: HttpRequest, run_id: int) -> Any:
    """The run's snapshots newest first, each with its gates' measurements."""
    access.allow(request, access.READ)
    return _snapshots(run_id)


@router.post(
    "/runs",
    response={201: RunOut},
    url_name="soak-start",
    operation_id="soak_start",
)
def run_start(request: HttpRequest, payload: StartIn) -> Any:
    """Start a soak of a release (created as a candidate when new); 409 when one runs."""
    access.allow(request, access.START)
    run = services.soak_start(
        release=payload.release,
        target_url=payload.target_url,
        planned_hours=payload.planned_hours,
        by=_user(request),
        by_label=_label(request),
    )
    return Status(201, selectors.run_by_pk(run.pk))


@router.post(
    "/runs/{int:run_id}/snapshots",
    response={201: SoakSnapshotOut},
    url_name="soak-snapshot",
    operation_id="soak_snapshot_take",
)
def snapshot_take(request: HttpRequest, run_id: int) -> Any:
    """Take a snapshot now (every gate measured); 409 when the run is over."""
    access.allow(request, access.SNAPSHOT)
    run = _run(run_id)
    user = _user(request)
    label = f"user:{user.get_username()}" if user is not None else _label(request)
    snapshot = services.snapshot_take(run=run, by_label=label)
    return Status(201, Snapshot.objects.prefetch_related("gate_results").get(pk=snapshot.pk))


@router.post(
    "/runs/{int:run_id}/abort", response=RunOut, url_name="soak-abort", operation_id="soak_abort"
)
def run_abort(request: HttpRequest, run_id: int, payload: AbortIn) -> Any:
    """Stop a soak, with the reason recorded."""
    access.allow(request, access.ABORT)
    run = services.soak_abort(run=_run(run_id), by=_user(request), reason=payload.reason)
    return selectors.run_by_pk(run.pk)


@router.post(
    "/releases/{name}/promote",
    response={202: JobOut},
    url_name="soak-promote",
    operation_id="soak_promote",
)
def release_promote(request: HttpRequest, name: str, payload: PromoteIn) -> Any:
    """Start the promotion flow (a job); 409 with ``details.failing_gates`` when refused."""
    access.allow(request, access.PROMOTE)
    job = promotion.promotion_start(
        release=selectors.release_by_name(name),
        by=_user(request),
        approve_inconclusive=payload.approve_inconclusive,
        tag=payload.tag,
        dry_run=payload.dry_run,
    )
    return Status(202, job_selectors.job_snapshot(job_selectors.job_detail(job.pk)))


@router.post(
    "/releases/{name}/decide",
    response=list[GateOut],
    url_name="soak-decide",
    operation_id="soak_decide",
)
def release_decide(request: HttpRequest, name: str, payload: DecideIn) -> Any:
    """Let the inconclusive blocking gates of the latest run pass, with a reason (recorded)."""
    access.allow(request, access.PROMOTE)
    release = selectors.release_by_name(name)
    job = promotion.promotion_job(release)
    return promotion.gates_decide(
        release=release, reason=payload.reason, by=_user(request), job_id=job.pk if job else None
    )


@router.get(
    "/releases/{name}/evidence",
    response={200: None},
    url_name="soak-evidence",
    operation_id="soak_evidence",
)
def release_evidence(request: HttpRequest, name: str) -> Any:
    """The release's evidence pack (zip with manifest.json of sha256s); 404 before promotion."""
    access.allow(request, access.READ)
    path = evidence.pack_path(selectors.release_by_name(name))
    if not path.is_file():
        raise NotFound(f"{name} has no evidence pack yet (it is built by the promotion)")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)

"""Reads of the soak app, shaped for the page, the API and the commands."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet

from lukhas_site.errors import NotFound
from soak.models import ACTIVE_PHASES, GateResult, Release, Snapshot, SoakRun


def _runs() -> QuerySet[SoakRun]:
    return SoakRun.objects.select_related("release", "started_by")


def active_run() -> SoakRun | None:
    """The soak going on (at most one: soak_start refuses a second)."""
    return _runs().filter(phase__in=ACTIVE_PHASES).order_by("-started_at", "-pk").first()


def active_runs() -> QuerySet[SoakRun]:
    """Every active run, for the sentinel (the phase index serves it)."""
    return _runs().filter(phase__in=ACTIVE_PHASES).order_by("pk")


def release_by_name(name: str) -> Release:
    release = Release.objects.filter(name=name).first()
    if release is None:
        raise NotFound(f"no release named {name!r}", param="release")
    return release


def run_by_pk(pk: int) -> SoakRun:
    run = _runs().filter(pk=pk).first()
    if run is None:
        raise NotFound(f"no soak run #{pk}", param="run")
    return run


def run_for_page(*, release: str | None = None, run_id: int | None = None) -> SoakRun | None:
    """The run a page shows: the one asked for, else the active one, else the latest.

    With ``release``, that release's active run or its latest (NotFound when
    the release does not exist). None when there is no run at all.
    """
    if run_id is not None:
        return run_by_pk(run_id)
    runs = _runs()
    if release:
        runs = runs.filter(release=release_by_name(release))
    active = runs.filter(phase__in=ACTIVE_PHASES).order_by("-started_at", "-pk").first()
    return active or runs.order_by("-created_at", "-pk").first()


def run_gate_results(run: SoakRun) -> QuerySet[GateResult]:
    """The gates' standing over the run (one row per gate), in file order by id."""
    return GateResult.objects.filter(run=run, snapshot__isnull=True).order_by("gate_id")


def run_snapshots(run: SoakRun, *, limit: int | None = None) -> QuerySet[Snapshot]:
    snapshots = Snapshot.objects.filter(run=run).order_by("-taken_at", "-pk")
    return snapshots[:limit] if limit else snapshots


def latest_snapshot(run: SoakRun) -> Snapshot | None:
    return run_snapshots(run).first()


def snapshot_gate_results(snapshot: Snapshot) -> QuerySet[GateResult]:
    return GateResult.objects.filter(snapshot=snapshot).order_by("gate_id")


def gate_series(run: SoakRun) -> dict[str, list[dict[str, Any]]]:
    """Per gate, its measurements in time order: {gate_id: [{taken_at, value, phase}]}.

    One query (the gate series index); a value None is a no-data point the
    chart shades, never drawn as zero.
    """
    rows = (
        GateResult.objects.filter(run=run, snapshot__isnull=False)
        .order_by("gate_id", "snapshot__taken_at", "pk")
        .values_list("gate_id", "snapshot__taken_at", "value", "phase", "threshold", "comparator")
    )
    series: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for gate_id, taken_at, value, phase, threshold, comparator in rows:
        series[gate_id].append(
            {
                "taken_at": taken_at,
                "value": value,
                "phase": phase,
                "threshold": threshold,
                "comparator": comparator,
            }
        )
    return dict(series)


def runs_history(*, limit: int = 20) -> QuerySet[SoakRun]:
    """The latest runs, newest first, with their snapshot counts (one query)."""
    return (
        _runs()
        .annotate(
            snapshot_count=Count("snapshots", distinct=True),
            complete_count=Count("snapshots", filter=Q(snapshots__complete=True), distinct=True),
        )
        .order_by("-created_at", "-pk")[:limit]
    )


def releases_for_metrics(*, recent: int) -> list[Release]:
    """Releases whose series /metrics exports: those soaking plus the ``recent`` latest."""
    active = set(
        SoakRun.objects.filter(phase__in=ACTIVE_PHASES).values_list("release_id", flat=True)
    )
    latest = list(
        Release.objects.order_by("-created_at", "-pk").values_list("pk", flat=True)[:recent]
    )
    ids = active | set(latest)
    return list(Release.objects.filter(pk__in=ids).order_by("name"))


def latest_runs_of(releases: list[Release]) -> dict[int, SoakRun]:
    """Each release's latest run (active first), for the metrics collector."""
    runs: dict[int, SoakRun] = {}
    for run in (
        SoakRun.objects.filter(release__in=releases)
        .select_related("release")
        .order_by("release_id", "-created_at", "-pk")
    ):
        runs.setdefault(run.release_id, run)
    return runs


def snapshots_between(run: SoakRun, start: datetime, end: datetime) -> QuerySet[Snapshot]:
    return Snapshot.objects.filter(run=run, taken_at__gte=start, taken_at__lte=end)


def snapshot_times(run: SoakRun) -> list[tuple[datetime, bool]]:
    """(taken_at, complete) of every snapshot, oldest first: what hours covered adds up."""
    return list(
        Snapshot.objects.filter(run=run)
        .order_by("taken_at", "pk")
        .values_list("taken_at", "complete")
    )

"""Reads of the audits pages, the API and the lanes page, beside ``audits.selectors``.

Kept apart from the health audit's own selectors so the two helpers' modules
merge without conflicts; the layers contract puts both in the selectors layer.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from audits.lanes import (
    Lanes,
    ModulePromotion,
    cross_lane_imports,
    load_lanes,
    promotion_evaluate,
)
from audits.models import Codebase, CollectorRun, Finding, HealthReport
from audits.selectors import latest_reports


def report_latest_of(codebase_name: str) -> HealthReport | None:
    """The newest finished report of a codebase (None: never audited)."""
    return (
        HealthReport.objects.filter(codebase__name=codebase_name, finished_at__isnull=False)
        .order_by("-started_at", "-pk")
        .first()
    )


def coverage_by_module(report: HealthReport | None) -> dict[str, float | None]:
    """Per-package coverage of a report's coverage run (``facts["packages"]``:
    ``{package: {"percent": …}}``); empty when the collector did not record it."""
    if report is None:
        return {}
    run = CollectorRun.objects.filter(report=report, collector="coverage").only("facts").first()
    packages = (run.facts or {}).get("packages") if run else None
    if not isinstance(packages, dict):
        return {}
    return {
        name: (value.get("percent") if isinstance(value, dict) else value)
        for name, value in packages.items()
    }


def findings_filtered(
    report: HealthReport,
    *,
    collector: str = "",
    rule: str = "",
    lane: str = "",
    severity: str = "",
    file: str = "",
) -> QuerySet[Finding]:
    """The findings behind one number of a report (the page's links and the API's filters)."""
    rows = Finding.objects.filter(report=report).only(
        "pk", "collector", "rule", "severity", "lane", "file", "line", "message", "fingerprint"
    )
    for name, value in (
        ("collector", collector),
        ("rule", rule),
        ("lane", lane),
        ("severity", severity),
    ):
        if value:
            rows = rows.filter(**{name: value})
    if file:
        rows = rows.filter(file__startswith=file)
    return rows.order_by("collector", "file", "line", "pk")


def reports_running() -> QuerySet[HealthReport]:
    """Reports whose audit job has not finished (the page shows their progress)."""
    return (
        HealthReport.objects.filter(finished_at__isnull=True, job__isnull=False)
        .select_related("codebase", "job")
        .order_by("-started_at")
    )


def gate_status_overview() -> list[HealthReport]:
    """The latest finished report of each codebase, for the site's overview tile."""
    return list(latest_reports().only("pk", "codebase__name", "status", "started_at"))


def reports_filtered(*, codebase: str = "", status: str = "") -> QuerySet[HealthReport]:
    """Reports newest first for the API's list, filtered by codebase name and gate status."""
    rows = HealthReport.objects.select_related("codebase").order_by("-started_at", "-pk")
    if codebase:
        rows = rows.filter(codebase__name=codebase)
    if status:
        rows = rows.filter(status=status)
    return rows


def codebase_lanes(codebase: Codebase) -> tuple[Lanes, list[ModulePromotion]]:
    """The lanes of a codebase and the promotion criteria of each production module.

    Reads the lanes config, the checkout's sources as text and README, and the
    latest report's coverage: nothing of the audited code is imported (grimp parses).
    Raises ``audits.lanes.LanesError`` for a config that cannot be read.
    """
    base = Path(settings.BASE_DIR)
    config = Path(codebase.config_file)
    lanes = load_lanes(config if config.is_absolute() else base / config, base)
    readme = lanes.path / "README.md"
    promotions = promotion_evaluate(
        lanes,
        coverage_by_module=coverage_by_module(report_latest_of(codebase.name)),
        cross_lane=cross_lane_imports(lanes),
        settings_text=readme.read_text(encoding="utf-8") if readme.is_file() else None,
    )
    return lanes, promotions

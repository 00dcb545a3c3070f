"""Reads of the audits pages, the API and the lanes page, beside ``audits.selectors``.

Kept apart from the health audit's own selectors so the two helpers' modules
merge without conflicts; the layers contract puts both in the selectors layer.
"""

from __future__ import annotations

from audits.models import CollectorRun, HealthReport


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

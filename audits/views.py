"""Pages of codebase health: the latest report per codebase with its gate badge and trends,
one report (gate verdicts, collectors, facts linked to findings, diff), its findings,
and the "run audit" button. Login required; running an audit needs ``audits.add_healthreport``
(and the ``ops:write`` scope, asked of Guardian as the API does)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audits import charts, selectors, selectors_ui
from audits.access import READ, RUN, allow, offers
from audits.lanes import LanesError
from audits.models import GateStatus, HealthReport, Severity
from audits.services import health_audit_start
from lukhas_site.errors import LukhasError, PermissionDenied

GATE_BADGES = {GateStatus.OK: "ok", GateStatus.ERROR: "fail", GateStatus.UNKNOWN: "warn"}
FINDINGS_PAGE_SIZE = 100
# Facts whose sub-keys are a Finding field: a number under by_rule links to rule=…
_FACT_FILTERS = {"by_rule": "rule", "by_lane": "lane", "by_severity": "severity"}


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(request, "audits/forbidden.html", {"message": exc.message}, status=403)


def _findings_url(report_id: int, **filters: str) -> str:
    query = urlencode({k: v for k, v in filters.items() if v})
    url = reverse("audits-findings", args=[report_id])
    return f"{url}?{query}" if query else url


def _fact_rows(report_id: int, collector: str, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """Each fact of a collector as (name, value, link); every number links to its findings.

    A nested mapping of numbers (``by_rule``: {"E501": 3}) becomes one row per key,
    linked with that key as the finding filter; lists and text are shown as they are.
    """
    rows: list[dict[str, Any]] = []
    for name, value in facts.items():
        if isinstance(value, dict):
            field = _FACT_FILTERS.get(name, "")
            for key, inner in value.items():
                number = isinstance(inner, int | float) and not isinstance(inner, bool)
                link = (
                    _findings_url(report_id, collector=collector, **{field: str(key)})
                    if number and field
                    else (_findings_url(report_id, collector=collector) if number else "")
                )
                shown = inner if number or inner is None else str(inner)[:200]
                rows.append({"name": f"{name}.{key}", "value": shown, "link": link})
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        shown = value if number or value is None else str(value)[:200]
        link = _findings_url(report_id, collector=collector) if number else ""
        rows.append({"name": name, "value": shown, "link": link})
    return rows


@login_required
@require_GET
def audits_index(request: HttpRequest) -> HttpResponse:
    """Every codebase: its latest report and gate badge, the audit running now, the trends."""
    try:
        allow(request, READ)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    latest = {report.codebase_id: report for report in selectors.latest_reports()}
    running: dict[int, HealthReport] = {}
    for report in selectors_ui.reports_running():
        running.setdefault(report.codebase_id, report)
    rows = []
    for codebase in selectors.codebases():
        report = latest.get(codebase.pk)
        history = selectors.report_history(codebase) if report else []
        rows.append(
            {
                "codebase": codebase,
                "report": report,
                "badge": GATE_BADGES.get(report.status, "warn") if report else "warn",
                "running": running.get(codebase.pk),
                "history_count": len(history),
                "charts": charts.trend_charts(history) if history else {},
            }
        )
    return render(
        request,
        "audits/index.html",
        {"rows": rows, "can_run": offers(request, RUN), "trend_ids": [t[0] for t in charts.TRENDS]},
    )


@login_required
@require_GET
def report_page(request: HttpRequest, report_id: int) -> HttpResponse:
    """One report: gate verdicts, each collector's facts (linked to findings), the diff."""
    try:
        allow(request, READ)
        report = selectors.report_get(report_id)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except LukhasError:
        return render(request, "404.html", status=404)
    runs = list(selectors.collector_runs(report).order_by("collector"))
    collectors = [
        {
            "run": run,
            "facts": _fact_rows(report.pk, run.collector, run.facts or {}),
            "findings_url": _findings_url(report.pk, collector=run.collector),
        }
        for run in runs
    ]
    diff = selectors.report_diff(report) if report.finished_at else None
    return render(
        request,
        "audits/report.html",
        {
            "report": report,
            "badge": GATE_BADGES.get(report.status, "warn"),
            "gates": report.gate_verdicts or {},
            "collectors": collectors,
            "diff": diff,
            "running": report.finished_at is None and report.job_id is not None,
        },
    )


@login_required
@require_GET
def report_findings(request: HttpRequest, report_id: int) -> HttpResponse:
    """The findings behind a number: filtered by collector, rule, lane, severity, file."""
    try:
        allow(request, READ)
        report = selectors.report_get(report_id)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except LukhasError:
        return render(request, "404.html", status=404)
    filters = {
        name: request.GET.get(name, "")[:500]
        for name in ("collector", "rule", "lane", "severity", "file")
    }
    if filters["severity"] not in ("", *Severity.values):
        filters["severity"] = ""
    page = Paginator(
        selectors_ui.findings_filtered(report, **filters), FINDINGS_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "audits/findings.html",
        {"report": report, "page": page, "filters": filters, "query": query},
    )


@login_required
@require_POST
def audit_run(request: HttpRequest, codebase: str) -> HttpResponse:
    """Start a health audit of ``codebase`` (a job); its report page shows the progress."""
    try:
        allow(request, RUN)
        report = health_audit_start(codebase=codebase, by=request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except LukhasError as exc:
        messages.error(request, exc.message)
        return redirect("audits")
    messages.success(request, f"Health audit of {codebase} started (job {report.job_id}).")
    return redirect("audits-report", report_id=report.pk)


@login_required
@require_GET
def codebase_lanes(request: HttpRequest, codebase: str) -> HttpResponse:
    """The lanes of a codebase and each production module's promotion criteria."""
    try:
        allow(request, READ)
        row = selectors.codebase_get(codebase)
        lanes, promotions = selectors_ui.codebase_lanes(row)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except LanesError as exc:
        messages.error(request, str(exc))
        return redirect("audits")
    except LukhasError:
        return render(request, "404.html", status=404)
    return render(
        request,
        "audits/lanes.html",
        {"codebase": row, "lanes": lanes, "promotions": promotions},
    )

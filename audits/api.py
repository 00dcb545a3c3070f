"""The audits ops API, under ``/api/audits/``: codebases, health reports, findings, and
starting an audit (a job).

Authentication comes from the ``/api`` root (an API key or a dashboard session).
Reads need ``ops:read``; starting an audit needs ``ops:write`` and, for a session,
``audits.add_healthreport`` (``audits.access``, as the pages and the admin).
"""

# No `from __future__ import annotations`: ninja reads these annotations at import time.

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router, Status
from ninja.pagination import PageNumberPagination, paginate

from audits import selectors, selectors_ui
from audits.access import READ, RUN, allow
from audits.models import GateStatus, Severity
from audits.schemas import (
    AuditStartedOut,
    CodebaseOut,
    FindingFilter,
    FindingOut,
    ReportFilter,
    ReportListOut,
    ReportOut,
)
from audits.services import health_audit_start
from lukhas_site.errors import InvalidRequest

router = Router()

DETAIL_FINDINGS = 200  # the detail carries the first ones; /findings pages through all


def _actor(request: HttpRequest) -> Any:
    principal = request.auth
    return principal.user if principal.kind == "user" else f"api-key:{principal.label}"


@router.get(
    "/codebases",
    response=list[CodebaseOut],
    url_name="audits-codebases",
    operation_id="audits_codebases_list",
)
def codebases_list(request: HttpRequest) -> Any:
    """The codebases the health audit measures."""
    allow(request, READ)
    return list(selectors.codebases())


@router.get(
    "/reports",
    response=list[ReportListOut],
    url_name="audits-reports",
    operation_id="audits_reports_list",
)
@paginate(PageNumberPagination, page_size=50, max_page_size=500)
def reports_list(request: HttpRequest, filters: Query[ReportFilter]) -> Any:
    """Health reports newest first, filtered by codebase name and gate status."""
    allow(request, READ)
    if filters.status and filters.status not in GateStatus.values:
        raise InvalidRequest(
            f"{filters.status!r} is not a gate status; use one of: {', '.join(GateStatus.values)}.",
            param="status",
        )
    return selectors_ui.reports_filtered(codebase=filters.codebase, status=filters.status)


@router.get(
    "/reports/{int:report_id}",
    response=ReportOut,
    url_name="audits-report",
    operation_id="audits_report_get",
)
def report_get(request: HttpRequest, report_id: int) -> Any:
    """One report: gate verdicts, each collector's tool, command, facts, and its findings."""
    allow(request, READ)
    report = selectors.report_get(report_id)
    report.collectors = list(selectors.collector_runs(report).order_by("collector"))
    # `findings` is the reverse relation: the first ones travel under another attribute.
    report.first_findings = list(selectors_ui.findings_filtered(report)[:DETAIL_FINDINGS])
    report.findings_total = sum(run.finding_count for run in report.collectors)
    report.findings_url = f"/api/audits/reports/{report.pk}/findings"
    return report


@router.get(
    "/reports/{int:report_id}/findings",
    response=list[FindingOut],
    url_name="audits-report-findings",
    operation_id="audits_report_findings",
)
@paginate(PageNumberPagination, page_size=100, max_page_size=1000)
def report_findings(request: HttpRequest, report_id: int, filters: Query[FindingFilter]) -> Any:
    """The findings of a report, filtered by collector, rule, lane, severity, file prefix."""
    allow(request, READ)
    if filters.severity and filters.severity not in Severity.values:
        raise InvalidRequest(
            f"{filters.severity!r} is not a severity; use one of: {', '.join(Severity.values)}.",
            param="severity",
        )
    return selectors_ui.findings_filtered(selectors.report_get(report_id), **filters.dict())


@router.post(
    "/codebases/{codebase}/audits",
    response={202: AuditStartedOut},
    url_name="audits-run",
    operation_id="audits_audit_start",
)
def audit_start(request: HttpRequest, codebase: str) -> Status:
    """Start a health audit of the codebase: a health-audit job (202; follow the job)."""
    allow(request, RUN)
    report = health_audit_start(codebase=codebase, by=_actor(request))
    base = settings.JOBS_BASE_URL.rstrip("/")
    return Status(
        202,
        {
            "report_id": report.pk,
            "job_id": report.job_id,
            "status": report.job.status,
            "url": f"{base}/audits/reports/{report.pk}/",
            "job_url": f"{base}/jobs/{report.job_id}/",
            "progress_url": f"{base}/jobs/{report.job_id}/progress",
        },
    )

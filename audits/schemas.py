"""Shapes of the audits API (/api/audits/): codebases, reports, collectors, findings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field


class CodebaseOut(Schema):
    name: str
    path: str
    git_remote: str
    git_ref: str
    config_file: str
    description: str


class ReportListOut(Schema):
    id: int
    codebase: str = Field(description="the codebase's name")
    status: str = Field(description="the main quality gate: ok, error or unknown")
    started_at: datetime
    finished_at: datetime | None
    git_commit: str
    comparable: bool | None = Field(description="null: no previous report to compare with")
    job_id: int | None
    facts: dict[str, Any] = Field(description="key numbers by metric; null where unmeasured")

    @staticmethod
    def resolve_codebase(obj: Any) -> str:
        return obj.codebase.name


class CollectorOut(Schema):
    collector: str
    status: str = Field(description="ok, failed, unavailable or error")
    tool: str
    tool_version: str
    command: str
    duration_seconds: float | None
    exit_code: int | None
    error: str
    facts: dict[str, Any]
    metrics: dict[str, Any]
    finding_count: int


class FindingOut(Schema):
    id: int
    collector: str
    rule: str
    severity: str
    lane: str
    file: str
    line: int | None
    message: str
    fingerprint: str


class ReportOut(ReportListOut):
    gate_file_version: str
    gate_verdicts: dict[str, Any]
    comparability_notes: list[Any]
    artifacts: dict[str, Any]
    collectors: list[CollectorOut]
    findings: list[FindingOut] = Field(
        alias="first_findings", description="the first findings (see findings_total)"
    )
    findings_total: int
    findings_url: str = Field(description="all of them, paginated and filtered")


class ReportFilter(Schema):
    codebase: str = ""
    status: str = ""


class FindingFilter(Schema):
    collector: str = ""
    rule: str = ""
    lane: str = ""
    severity: str = ""
    file: str = Field("", description="a path prefix")


class AuditStartedOut(Schema):
    """202: the audit runs as a health-audit job; the report fills in as collectors end."""

    report_id: int
    job_id: int = Field(description="follow it at GET /api/jobs/{job_id}")
    status: str = Field(description="the job's status now")
    url: str = Field(description="the report's page (progress while it runs)")
    job_url: str
    progress_url: str

"""Audits in the admin: codebases (editable, with a "run a health audit" action) and the
records of the audits (reports, collector runs, findings) read-only: they are evidence."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from audits.access import RUN, allow
from audits.models import Codebase, CollectorRun, Finding, HealthReport
from audits.services import health_audit_start
from lukhas_site.errors import LukhasError


class _ReadOnly(admin.ModelAdmin):
    """What an audit measured is not edited by hand; deleting old reports is allowed."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Codebase)
class CodebaseAdmin(admin.ModelAdmin):
    list_display = ("name", "path", "config_file", "git_ref", "report_count", "updated_at")
    search_fields = ("name", "path", "git_remote", "description")
    actions = ["run_audit"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Codebase]:
        return super().get_queryset(request).annotate(report_total=Count("reports"))

    @admin.display(description="reports", ordering="report_total")
    def report_count(self, obj: Codebase) -> int:
        return obj.report_total

    @admin.action(description="Run a health audit of the selected codebases")
    def run_audit(self, request: HttpRequest, queryset: QuerySet[Codebase]) -> None:
        try:
            allow(request, RUN)
        except LukhasError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        for codebase in queryset:
            try:
                report = health_audit_start(codebase=codebase.name, by=request.user)
            except LukhasError as exc:
                self.message_user(request, f"{codebase.name}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{codebase.name}: audit started (report #{report.pk}, job {report.job_id})",
            )


class CollectorRunInline(admin.TabularInline):
    model = CollectorRun
    extra = 0
    can_delete = False
    fields = ("collector", "status", "tool", "tool_version", "duration_seconds", "exit_code")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(HealthReport)
class HealthReportAdmin(_ReadOnly):
    list_display = ("id", "codebase", "status", "started_at", "finished_at", "comparable", "job")
    list_filter = ("status", "codebase", "comparable")
    search_fields = ("=id", "codebase__name", "git_commit")
    list_select_related = ("codebase", "job")
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in HealthReport._meta.fields]
    inlines = [CollectorRunInline]


@admin.register(CollectorRun)
class CollectorRunAdmin(_ReadOnly):
    list_display = (
        "id",
        "report",
        "collector",
        "status",
        "tool",
        "tool_version",
        "duration_seconds",
    )
    list_filter = ("collector", "status", "tool")
    search_fields = ("=report__id", "collector", "tool", "command", "error")
    list_select_related = ("report", "report__codebase")
    readonly_fields = [f.name for f in CollectorRun._meta.fields]


@admin.register(Finding)
class FindingAdmin(_ReadOnly):
    list_display = ("id", "report", "collector", "rule", "severity", "lane", "file", "line")
    list_filter = ("collector", "severity", "lane")
    search_fields = ("=report__id", "rule", "file", "message", "fingerprint")
    list_select_related = ("report", "report__codebase")
    readonly_fields = [f.name for f in Finding._meta.fields]
    show_full_result_count = False  # a large report has tens of thousands of findings

"""The soak models in the admin: read-mostly (the sentinel and the services write them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from soak.models import AlertRecord, GateResult, MetricScrape, Release, Snapshot, SoakRun


def _shown(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}"


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "status", "git_ref", "git_tag", "promoted_at", "run_count"]
    list_filter = ["status"]
    search_fields = ["name", "version", "git_ref", "git_tag"]
    readonly_fields = ["promoted_at", "promoted_by", "git_tag", "created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_runs=Count("runs"))

    @admin.display(description="runs", ordering="_runs")
    def run_count(self, obj: Release) -> int:
        return obj._runs


class RunGateInline(admin.TabularInline):
    model = GateResult
    fk_name = "run"
    verbose_name_plural = "gates over the run"
    fields = ["gate_id", "phase", "shown_value", "comparator", "threshold", "advisory",
              "successful", "failed", "inconclusive", "errors", "decided_by",
              "decision_reason"]  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).filter(snapshot__isnull=True)

    @admin.display(description="actual")
    def shown_value(self, obj: GateResult) -> str:
        return _shown(obj.value)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SoakRun)
class SoakRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "release", "phase", "planned_hours", "covered", "started_at",
                    "ended_at", "started_by_label"]  # fmt: skip
    list_filter = ["phase", "release"]
    search_fields = ["release__name", "message", "aborted_reason"]
    list_select_related = ["release"]
    readonly_fields = ["release", "phase", "started_at", "ended_at", "hours_covered", "message",
                       "gates_checksum", "gates_version", "load_profile", "load_pid", "load_dir",
                       "started_by", "started_by_label", "aborted_reason", "covered",
                       "created_at", "updated_at"]  # fmt: skip
    inlines = [RunGateInline]

    @admin.display(description="hours covered")
    def covered(self, obj: SoakRun) -> str:
        return f"{obj.hours_covered:.2f} / {obj.planned_hours}"


class SnapshotGateInline(admin.TabularInline):
    model = GateResult
    fk_name = "snapshot"
    fields = ["gate_id", "phase", "shown_value", "comparator", "threshold", "message", "query"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description="actual")
    def shown_value(self, obj: GateResult) -> str:
        return _shown(obj.value)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["__str__", "run", "taken_at", "complete", "run_phase", "taken_by_label"]
    list_filter = ["complete", "run_phase", "run__release"]
    search_fields = ["run__release__name", "taken_by_label"]
    list_select_related = ["run__release"]
    date_hierarchy = "taken_at"
    readonly_fields = ["run", "taken_at", "complete", "run_phase", "gates_checksum",
                       "load_results", "artifacts", "taken_by_label", "created_at"]  # fmt: skip
    inlines = [SnapshotGateInline]


@admin.register(GateResult)
class GateResultAdmin(admin.ModelAdmin):
    list_display = ["gate_id", "run", "level", "phase", "shown_value", "comparator", "threshold",
                    "advisory", "severity", "decided_by"]  # fmt: skip
    list_filter = ["phase", "advisory", "severity", "source", "gate_id"]
    search_fields = ["gate_id", "title", "message", "query", "decision_reason"]
    list_select_related = ["run__release", "snapshot", "decided_by"]
    readonly_fields = [f.name for f in GateResult._meta.fields if f.name != "id"] + ["level"]

    @admin.display(description="level")
    def level(self, obj: GateResult) -> str:
        return "run" if obj.snapshot_id is None else f"snapshot #{obj.snapshot_id}"

    @admin.display(description="actual")
    def shown_value(self, obj: GateResult) -> str:
        return _shown(obj.value)


@admin.register(MetricScrape)
class MetricScrapeAdmin(admin.ModelAdmin):
    list_display = ["__str__", "run", "taken_at", "ok", "error"]
    list_filter = ["ok"]
    search_fields = ["run__release__name", "error"]
    list_select_related = ["run__release"]
    readonly_fields = ["run", "taken_at", "ok", "error", "samples", "created_at"]


@admin.register(AlertRecord)
class AlertRecordAdmin(admin.ModelAdmin):
    list_display = ["name", "severity", "source", "run", "fired_at", "resolved_at"]
    list_filter = ["severity", "source"]
    search_fields = ["name", "message"]
    list_select_related = ["run__release"]
    readonly_fields = ["run", "name", "severity", "source", "fired_at", "resolved_at", "labels",
                       "message", "created_at"]  # fmt: skip

"""Records the app writes itself (plans, uploads, snapshots, history, webhooks): read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from coordination.models import (
    Plan,
    PlanGate,
    PlanUpload,
    Snapshot,
    TaskEvent,
    WebhookDelivery,
)

# --------------------------------------------------------------------------- read-only records


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the app writes itself: look, search, never edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PlanGateInline(admin.TabularInline):
    """The plan's gates, as the last import wrote them (edit the plan to change them)."""

    model = PlanGate
    fields = ("order", "section", "text", "done", "line")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    inlines = (PlanGateInline,)
    list_display = (
        "slug",
        "source_name",
        "title",
        "short_checksum",
        "task_count",
        "import_count",
        "repaired_mojibake",
        "imported_by",
        "updated_at",
    )
    search_fields = ("slug", "source_name", "title", "checksum")
    list_select_related = ("imported_by",)

    @admin.display(description="checksum")
    def short_checksum(self, plan: Plan) -> str:
        return plan.checksum[:12]


@admin.register(PlanUpload)
class PlanUploadAdmin(ReadOnlyAdmin):
    """Large plans kept for their plan-import job; delete old ones here."""

    list_display = (
        "source_name",
        "size",
        "short_sha256",
        "uploaded_by",
        "uploaded_by_label",
        "created_at",
    )
    search_fields = ("source_name", "sha256", "uploaded_by_label")
    list_select_related = ("uploaded_by",)
    exclude = ("data",)

    @admin.display(description="sha256")
    def short_sha256(self, upload: PlanUpload) -> str:
        return upload.sha256[:12]


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = (
        "taken_at",
        "slot",
        "task_count",
        "open_count",
        "done_count",
        "remaining_hours",
        "unestimated_open_count",
    )
    date_hierarchy = "taken_at"


@admin.register(TaskEvent)
class TaskEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "task", "actor", "field", "from_value", "to_value")
    list_filter = ("field", "actor_kind")
    search_fields = ("task__key", "task__title", "actor_label", "user__username", "agent__name")
    list_select_related = ("task", "user", "agent")
    date_hierarchy = "created_at"


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "action", "delivery_id", "outcome")
    list_filter = ("event",)
    search_fields = ("delivery_id", "outcome")


@admin.register(PlanGate)
class PlanGateAdmin(ReadOnlyAdmin):
    list_display = ("plan", "section", "text", "done", "line")
    list_filter = ("done",)
    search_fields = ("plan__slug", "section", "text")
    list_select_related = ("plan",)

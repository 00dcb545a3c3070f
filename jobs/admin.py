"""Jobs in the admin: filter by kind and status, see the steps, retry or cancel (via services)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs import services
from jobs.models import FlowStep, Job
from lukhas_site.errors import LukhasError


class FlowStepInline(admin.TabularInline):
    model = FlowStep
    extra = 0
    can_delete = False
    fields = (
        "index",
        "name",
        "role",
        "kind",
        "status",
        "attempts",
        "claimed_by",
        "started_at",
        "finished_at",
        "decision",
        "decided_by",
        "reason",
        "error",
    )
    readonly_fields = fields
    ordering = ("index", "pk")

    def has_add_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "progress_done",
        "progress_total",
        "attempts",
        "started_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("kind", "status")
    search_fields = ("=id", "kind", "error", "object_id")
    list_select_related = ("started_by",)
    readonly_fields = [f.name for f in Job._meta.fields]
    inlines = [FlowStepInline]
    actions = ["retry_jobs", "cancel_jobs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a job is started by the code that owns its flow

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Job], verb: str, act: Callable[[Job], object]
    ) -> None:
        done, refused = 0, []
        for job in queryset:
            try:
                act(job)
                done += 1
            except LukhasError as exc:
                refused.append(exc.message)
        if done:
            self.message_user(request, f"{verb} {done} job(s).", messages.SUCCESS)
        for message in refused:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description="Retry the selected jobs", permissions=["change"])
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._apply(
            request, queryset, "Retried", lambda j: services.job_retry(job=j, by=request.user)
        )

    @admin.action(description="Cancel the selected jobs", permissions=["change"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        self._apply(
            request, queryset, "Cancelled", lambda j: services.job_cancel(job=j, by=request.user)
        )

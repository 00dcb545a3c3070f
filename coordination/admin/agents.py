"""Agents (with the aliases plans name them by) and tracks."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest

from coordination.models import OPEN_STATUSES, Agent, AgentAlias, Track

# --------------------------------------------------------------------------- agents, tracks


class AgentAliasInline(admin.TabularInline):
    model = AgentAlias
    fields = ("alias", "normalized")
    readonly_fields = ("normalized",)
    extra = 1


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "role", "active", "alias_list", "open_tasks", "user")
    list_filter = ("kind", "active")
    search_fields = ("name", "role", "aliases__alias", "aliases__normalized")
    raw_id_fields = ("user",)
    inlines = [AgentAliasInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .prefetch_related("aliases")
            .annotate(
                open_count=Count("owned_tasks", filter=Q(owned_tasks__status__in=OPEN_STATUSES))
            )
        )

    @admin.display(description="aliases")
    def alias_list(self, agent: Agent) -> str:
        return ", ".join(a.alias for a in agent.aliases.all())

    @admin.display(description="open tasks", ordering="open_count")
    def open_tasks(self, agent: Agent) -> int:
        return agent.open_count


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("name", "position", "task_count")
    search_fields = ("name",)
    ordering = ("position", "name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Track]:
        return super().get_queryset(request).annotate(tasks_total=Count("tasks"))

    @admin.display(description="tasks", ordering="tasks_total")
    def task_count(self, track: Track) -> int:
        return track.tasks_total

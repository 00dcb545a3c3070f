"""The task admin's bulk actions: assign, set status, mark blocked, approve, export as CSV.

Each first asks Guardian, like the ops API and the board (``access.allow``: a
kill switch refuses a bulk action too), then runs the services' rules one task
at a time and reports every refusal.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from coordination import services
from coordination.access import READ, WRITE, Need, allow
from coordination.models import Agent, Task, TaskStatus
from lukhas_site.errors import LukhasError, PermissionDenied

# --------------------------------------------------------------------------- bulk action forms


class OwnerForm(forms.Form):
    owner = forms.ModelChoiceField(
        queryset=Agent.objects.filter(active=True), required=False, empty_label="(unassigned)"
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=TaskStatus.choices)
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="needed for Blocked"
    )


class BlockedForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="what blocks them")


# --------------------------------------------------------------------------- the actions


class TaskActionsMixin:
    """The bulk actions of ``TaskAdmin`` (listed in its ``actions``)."""

    def _refused(self, request: HttpRequest, need: Need) -> bool:
        """True (and the reason shown as a message) when Guardian refuses ``need``."""
        try:
            allow(request, need)
        except PermissionDenied as exc:
            messages.error(request, exc.message)
            return True
        return False

    def _bulk_form(
        self,
        request: HttpRequest,
        queryset: QuerySet[Task],
        *,
        form_class: type[forms.Form],
        action: str,
        title: str,
        apply: Callable[[Task, dict[str, Any]], Any],
        verb: str,
    ) -> TemplateResponse | None:
        """A form page between the changelist and the change: ``apply`` runs per task."""
        if self._refused(request, WRITE):
            return None
        if "apply" in request.POST:
            form = form_class(request.POST)
            if form.is_valid():
                done, refused = 0, 0
                for task in queryset.order_by("key"):
                    try:
                        apply(task, form.cleaned_data)
                    except LukhasError as exc:
                        refused += 1
                        messages.error(request, exc.message)
                    else:
                        done += 1
                if done:
                    messages.success(request, f"{verb} {done} task{'s' if done != 1 else ''}.")
                if refused:
                    messages.warning(
                        request,
                        f"{refused} task{'s were' if refused != 1 else ' was'} refused by the "
                        "rules; see why above.",
                    )
                return None
        else:
            form = form_class()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "tasks": queryset.select_related("owner").order_by("key"),
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "coordination/admin/bulk_action.html", context)

    @admin.action(description="Assign an owner", permissions=["change"])
    def assign_owner(self, request: HttpRequest, queryset: QuerySet[Task]) -> Any:
        return self._bulk_form(
            request,
            queryset,
            form_class=OwnerForm,
            action="assign_owner",
            title="Assign an owner",
            verb="Assigned",
            apply=lambda task, data: services.task_assign(
                task=task, owner=data["owner"], by=request.user
            ),
        )

    @admin.action(description="Set the status (through the rules)", permissions=["change"])
    def set_status(self, request: HttpRequest, queryset: QuerySet[Task]) -> Any:
        return self._bulk_form(
            request,
            queryset,
            form_class=StatusForm,
            action="set_status",
            title="Set the status",
            verb="Moved",
            apply=lambda task, data: services.task_transition(
                task=task, to=data["status"], by=request.user, reason=data["reason"]
            ),
        )

    @admin.action(description="Mark blocked (with a reason)", permissions=["change"])
    def mark_blocked(self, request: HttpRequest, queryset: QuerySet[Task]) -> Any:
        return self._bulk_form(
            request,
            queryset,
            form_class=BlockedForm,
            action="mark_blocked",
            title="Mark blocked",
            verb="Blocked",
            apply=lambda task, data: services.task_transition(
                task=task, to=TaskStatus.BLOCKED, by=request.user, reason=data["reason"]
            ),
        )

    @admin.action(
        description="Approve the critical review (as its reviewer)", permissions=["change"]
    )
    def approve_review(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        if self._refused(request, WRITE):
            return
        approved = 0
        for task in queryset.order_by("key"):
            try:
                services.task_approve(task=task, by=request.user)
            except LukhasError as exc:
                messages.error(request, exc.message)
            else:
                approved += 1
        if approved:
            messages.success(request, f"Approved {approved} task{'s' if approved != 1 else ''}.")

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Task]) -> HttpResponse | None:
        if self._refused(request, READ):
            return None
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="tasks.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "key",
                "title",
                "status",
                "owner",
                "collaborators",
                "reviewer",
                "track",
                "priority",
                "risk",
                "estimate_min_hours",
                "estimate_max_hours",
                "requires_critical_review",
                "approved",
                "depends_on",
                "blocked_reason",
                "branch",
                "pr_url",
                "acceptance_done",
                "acceptance_total",
            ]
        )
        rows = (
            queryset.select_related("owner", "reviewer", "track")
            .prefetch_related("collaborators", "dependencies", "acceptance_items")
            .order_by("key")
        )
        for task in rows:
            items = list(task.acceptance_items.all())
            writer.writerow(
                [
                    task.key,
                    task.title,
                    task.status,
                    task.owner.name if task.owner else "",
                    "; ".join(sorted(a.name for a in task.collaborators.all())),
                    task.reviewer.name if task.reviewer else "",
                    task.track.name if task.track else "",
                    task.priority,
                    task.risk,
                    "" if task.estimate_min_hours is None else f"{task.estimate_min_hours:g}",
                    "" if task.estimate_max_hours is None else f"{task.estimate_max_hours:g}",
                    "yes" if task.requires_critical_review else "no",
                    "yes" if task.approved_at else "no",
                    "; ".join(sorted(t.key for t in task.dependencies.all())),
                    task.blocked_reason,
                    task.branch,
                    task.pr_url,
                    sum(1 for i in items if i.done),
                    len(items),
                ]
            )
        return response

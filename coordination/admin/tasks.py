"""The task admin: its columns, inlines and form, saving every change through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.utils.html import format_html, format_html_join

from coordination import services
from coordination.access import CREATE, WRITE
from coordination.admin.actions import TaskActionsMixin
from coordination.filters import TaskFilter
from coordination.models import (
    STATUS_COLOURS,
    TRANSITIONS,
    AcceptanceItem,
    Task,
    TaskDependency,
    TaskEvent,
    TaskStatus,
    status_label,
    validate_web_url,
)
from lukhas_site.errors import LukhasError


def status_badge(status: str) -> str:
    return format_html(
        '<span class="coord-status" data-status="{}" style="background:{};color:#fff;'
        'padding:1px 8px;border-radius:999px;font-size:11px;white-space:nowrap">{}</span>',
        status,
        STATUS_COLOURS.get(status, "#6b7389"),
        status_label(status),
    )


# --------------------------------------------------------------------------- task inlines


class AcceptanceItemInline(admin.TabularInline):
    model = AcceptanceItem
    fields = ("position", "text", "done")
    extra = 1
    formfield_overrides = {
        # One line per criterion, not a textarea per row.
        AcceptanceItem._meta.get_field("text").__class__: {
            "widget": forms.TextInput(attrs={"size": 90})
        }
    }


class DependencyFormSet(BaseInlineFormSet):
    """Refuses a dependency that would close a cycle, naming it, before anything is saved."""

    def clean(self) -> None:
        super().clean()
        if self.instance.pk is None:
            return
        graph = services.DependencyGraph()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            blocker = data.get("blocker")
            if not blocker or data.get("DELETE"):
                continue
            try:
                services.dependency_check(blocker=blocker, blocked=self.instance, graph=graph)
            except LukhasError as exc:
                form.add_error("blocker", exc.message)


class DependencyInline(admin.TabularInline):
    model = TaskDependency
    fk_name = "blocked"
    formset = DependencyFormSet
    fields = ("blocker", "from_plan")
    readonly_fields = ("from_plan",)
    autocomplete_fields = ("blocker",)
    extra = 1
    verbose_name = "dependency (must be done before this task starts)"
    verbose_name_plural = "dependencies (must be done before this task starts)"


class TaskEventInline(admin.TabularInline):
    """The task's history, newest first; written by the services, never edited."""

    model = TaskEvent
    fields = ("created_at", "actor", "field", "from_value", "to_value", "message")
    readonly_fields = fields
    ordering = ("-created_at", "-id")
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = "history"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --------------------------------------------------------------------------- task filters, forms


class BlockedFilter(admin.SimpleListFilter):
    """The board's definition (TaskFilter.blocked): blocked, or waiting for an open task."""

    title = "blocked"
    parameter_name = "blocked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Blocked or waiting"), ("no", "Not blocked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> QuerySet[Task]:
        if self.value() in ("yes", "no"):
            return TaskFilter(blocked=self.value() == "yes").filter(queryset)
        return queryset


class TaskAdminForm(forms.ModelForm):
    pr_url = forms.URLField(
        label="PR URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[validate_web_url],
    )

    class Meta:
        model = Task
        fields = (
            "key",
            "title",
            "track",
            "status",
            "blocked_reason",
            "priority",
            "risk",
            "owner",
            "collaborators",
            "reviewer",
            "requires_critical_review",
            "estimate_min_hours",
            "estimate_max_hours",
            "files",
            "branch",
            "pr_url",
            "pr_number",
            "goal",
            "notes",
        )
        widgets = {
            "title": forms.TextInput(attrs={"size": 80}),
            "blocked_reason": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self) -> dict[str, Any]:
        """The rules a form can check before saving; the rest run at save (see save_related)."""
        cleaned = super().clean()
        status = cleaned.get("status")
        if self.instance.pk and "status" in self.changed_data and status:
            old = Task.objects.get(pk=self.instance.pk).status
            if status not in TRANSITIONS[old]:
                allowed = ", ".join(status_label(s) for s in TRANSITIONS[old])
                self.add_error(
                    "status",
                    f"{status_label(old)} cannot go to {status_label(status)}; "
                    f"it can go to: {allowed}.",
                )
        if status == TaskStatus.BLOCKED and not (cleaned.get("blocked_reason") or "").strip():
            self.add_error("blocked_reason", "Say why the task is blocked.")
        return cleaned


# --------------------------------------------------------------------------- the task admin


@admin.register(Task)
class TaskAdmin(TaskActionsMixin, admin.ModelAdmin):
    form = TaskAdminForm
    list_display = (
        "key",
        "title",
        "status_coloured",
        "owner",
        "track",
        "priority",
        "risk",
        "critical",
        "estimate",
        "updated_at",
    )
    list_display_links = ("key", "title")
    list_select_related = ("owner", "track")
    list_filter = (
        "status",
        ("owner", admin.RelatedOnlyFieldListFilter),
        ("track", admin.RelatedOnlyFieldListFilter),
        "priority",
        "risk",
        "requires_critical_review",
        BlockedFilter,
    )
    search_fields = ("key", "title", "branch", "notes", "owner__name")
    ordering = ("key",)
    list_per_page = 100
    autocomplete_fields = ("owner", "reviewer", "track")
    filter_horizontal = ("collaborators",)
    readonly_fields = (
        "status_changed_at",
        "approved_by",
        "approved_at",
        "ci_conclusion",
        "blocks_list",
        "source_plan",
        "source_line",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {"fields": ("key", "title", "track", "status", "blocked_reason", "priority", "risk")},
        ),
        (
            "People and review",
            {
                "fields": (
                    "owner",
                    "collaborators",
                    "reviewer",
                    "requires_critical_review",
                    ("approved_by", "approved_at"),
                )
            },
        ),
        (
            "Work",
            {
                "fields": (
                    ("estimate_min_hours", "estimate_max_hours"),
                    "files",
                    "branch",
                    ("pr_url", "pr_number"),
                    "ci_conclusion",
                    "blocks_list",
                    "goal",
                    "notes",
                )
            },
        ),
        (
            "Source",
            {
                "classes": ("collapse",),
                "fields": (
                    ("source_plan", "source_line"),
                    ("created_at", "updated_at", "status_changed_at"),
                ),
            },
        ),
    )
    inlines = [AcceptanceItemInline, DependencyInline, TaskEventInline]
    actions = ["assign_owner", "set_status", "mark_blocked", "approve_review", "export_csv"]

    # ----------------------------------------------------------------- columns

    @admin.display(description="status", ordering="status")
    def status_coloured(self, task: Task) -> str:
        return status_badge(task.status)

    @admin.display(description="critical review", boolean=True, ordering="requires_critical_review")
    def critical(self, task: Task) -> bool:
        return task.requires_critical_review

    @admin.display(description="estimate")
    def estimate(self, task: Task) -> str:
        return task.estimate_label

    @admin.display(description="blocks (waits for this task)")
    def blocks_list(self, task: Task) -> str:
        if not task.pk:
            return "—"
        dependents = task.dependents.only("key", "status").order_by("key")
        if not dependents:
            return "—"
        return format_html_join(
            ", ", "{} {}", ((t.key, status_badge(t.status)) for t in dependents)
        )

    # ----------------------------------------------------------------- saving through services

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponseBase:
        """A save asks Guardian first, like the bulk actions, the board and the API."""
        if request.method == "POST" and self._refused(request, WRITE if object_id else CREATE):
            return HttpResponseRedirect(request.get_full_path())
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: Task, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        editable = [f for f in services.UPDATABLE_FIELDS if f in form.fields]
        if not change:
            fields = {f: data[f] for f in editable if f in data}
            created = services.task_create(
                by=request.user,
                key=data["key"],
                title=data["title"],
                status=data["status"],
                **{k: v for k, v in fields.items() if k != "title"},
            )
            # The inline formsets hold `obj`: it must become the saved task.
            obj.pk = created.pk
            obj._state.adding = False
            obj._state.db = created._state.db
            return
        changes = {f: data[f] for f in editable if f in form.changed_data}
        if "key" in form.changed_data:
            # The key is how plans find a task again; renaming it is an admin's call.
            changes.pop("key", None)
            Task.objects.filter(pk=obj.pk).update(key=data["key"])
            services.task_record_event(
                task=obj,
                by=request.user,
                field="key",
                message="renamed",
                old=form.initial.get("key", ""),
                new=data["key"],
            )
        if changes:
            services.task_update(task=Task.objects.get(pk=obj.pk), by=request.user, **changes)

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: list, change: bool
    ) -> None:
        task = Task.objects.get(pk=form.instance.pk)
        if "collaborators" in form.changed_data:
            services.task_update(
                task=task, by=request.user, collaborators=list(form.cleaned_data["collaborators"])
            )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        if change and "status" in form.changed_data:
            try:
                task = services.task_transition(
                    task=task,
                    to=form.cleaned_data["status"],
                    by=request.user,
                    reason=form.cleaned_data.get("blocked_reason"),
                )
            except LukhasError as exc:
                messages.error(request, f"Status not changed: {exc.message}")
            form.instance.status = Task.objects.get(pk=task.pk).status

    def save_formset(
        self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool
    ) -> None:
        task = Task.objects.get(pk=form.instance.pk)
        # What formset.save() would leave for the admin's change message; the services
        # write instead (and the history inline shows what they did).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if formset.model is AcceptanceItem:
            self._save_acceptance(request, task, formset)
        elif formset.model is TaskDependency:
            self._save_dependencies(request, task, formset)
        # TaskEvent: read-only history, nothing to save.

    def _save_acceptance(self, request: HttpRequest, task: Task, formset: Any) -> None:
        for item_form in formset.forms:
            if not item_form.has_changed() and not formset._should_delete_form(item_form):
                continue
            data = item_form.cleaned_data
            item = item_form.instance
            if formset._should_delete_form(item_form):
                if item.pk:
                    services.acceptance_item_remove(item=item, by=request.user)
            elif item.pk is None:
                if data.get("text"):
                    added = services.acceptance_item_add(
                        task=task, text=data["text"], by=request.user, done=data.get("done", False)
                    )
                    if data.get("position"):
                        AcceptanceItem.objects.filter(pk=added.pk).update(position=data["position"])
            else:
                stored = AcceptanceItem.objects.get(pk=item.pk)
                if "done" in item_form.changed_data:
                    services.acceptance_item_set(item=stored, done=data["done"], by=request.user)
                if {"text", "position"} & set(item_form.changed_data):
                    # Wording and order are not rules; still, the history says who changed them.
                    AcceptanceItem.objects.filter(pk=item.pk).update(
                        text=data["text"], position=data["position"]
                    )
                    services.task_record_event(
                        task=task,
                        by=request.user,
                        field="acceptance",
                        message="reworded",
                        old=stored.text,
                        new=data["text"],
                    )

    def _save_dependencies(self, request: HttpRequest, task: Task, formset: Any) -> None:
        graph = services.DependencyGraph()
        for dep_form in formset.forms:
            if not dep_form.has_changed() and not formset._should_delete_form(dep_form):
                continue
            link = dep_form.instance
            old_blocker = TaskDependency.objects.get(pk=link.pk).blocker if link.pk else None
            new_blocker = dep_form.cleaned_data.get("blocker")
            try:
                if old_blocker and (
                    formset._should_delete_form(dep_form) or old_blocker != new_blocker
                ):
                    services.task_remove_dependency(
                        blocker=old_blocker, blocked=task, by=request.user, graph=graph
                    )
                if new_blocker and not formset._should_delete_form(dep_form):
                    services.task_add_dependency(
                        blocker=new_blocker, blocked=task, by=request.user, graph=graph
                    )
            except LukhasError as exc:
                messages.error(request, f"Dependency not saved: {exc.message}")

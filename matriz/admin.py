"""Admin of MATRIZ: indexes (created and deleted through the services), the rest read-only.

Items, fold records and dreams are written by the pipeline's services only —
an edited vector or a hand-set status would break the invariants the runtime
and the tasks rely on — so the admin shows them and offers the actions that
go through services (fold now, delete an index).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from lukhas_site.errors import LukhasError
from matriz import runtime, services
from matriz.models import (
    VECTOR_DTYPE,
    Dream,
    FoldRecord,
    FoldTrigger,
    MemoryIndexModel,
    MemoryItemModel,
    StoredChatCompletion,
    StoredResponse,
)
from matriz.services.common import check_name, check_owner


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MemoryIndexForm(forms.ModelForm):
    """Checks what index_create would refuse, so the admin shows it on the form."""

    class Meta:
        model = MemoryIndexModel
        fields = ("owner", "name", "embedder", "dimension", "metadata")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.pk is None:
            try:
                check_owner(data.get("owner"))
                check_name(data.get("name"))
                runtime.embedder_for(data.get("embedder") or "", data.get("dimension") or 0)
            except LukhasError as exc:
                raise forms.ValidationError(exc.message) from None
        return data


@admin.register(MemoryIndexModel)
class MemoryIndexAdmin(admin.ModelAdmin):
    form = MemoryIndexForm
    list_display = (
        "name", "owner", "item_count", "version", "writes_since_fold", "last_folded_at",
        "embedder", "dimension",
    )  # fmt: skip
    list_filter = ("owner", "embedder")
    search_fields = ("name", "owner", "public_id")
    readonly_fields = (
        "public_id", "item_count", "version", "purged_version", "writes_since_fold",
        "items_after_last_fold", "last_folded_at", "created_at", "updated_at",
    )  # fmt: skip
    fields = ("owner", "name", "embedder", "dimension", "metadata", *readonly_fields)
    actions = ["fold_now"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None:  # what an index is, is fixed once it exists
            return ("owner", "name", "embedder", "dimension", "metadata", *self.readonly_fields)
        return self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: MemoryIndexModel, form: Any, change: bool
    ) -> None:
        if change:
            return
        created = services.index_create(
            owner=obj.owner,
            name=obj.name,
            embedder=obj.embedder,
            dimension=obj.dimension,
            metadata=obj.metadata,
        )
        obj.pk, obj.public_id = created.pk, created.public_id

    def delete_model(self, request: HttpRequest, obj: MemoryIndexModel) -> None:
        services.index_delete(index=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for index in queryset:
            services.index_delete(index=index)

    @admin.action(description="Fold the selected indexes now")
    def fold_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        for index in queryset:
            try:
                record = services.fold_index(index=index, trigger=FoldTrigger.MANUAL)
            except LukhasError as exc:
                self.message_user(request, f"{index}: {exc.message}", messages.WARNING)
                continue
            self.message_user(
                request,
                f"{index}: {record.before_count} → {record.after_count} memories "
                f"({record.absorbed_count} absorbed) in {record.duration_ms:.0f} ms",
                messages.SUCCESS,
            )


@admin.register(MemoryItemModel)
class MemoryItemAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "index", "short_text", "state", "version", "created_at")
    list_filter = ("index",)
    list_select_related = ("index", "folded_into")
    search_fields = ("public_id", "text")
    fields = (
        "public_id", "index", "text", "metadata", "vector_summary", "version", "folded_into",
        "deleted_at", "created_at", "updated_at",
    )  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The changelist never needs the vectors (1.5 kB each); the detail page does.
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and match.url_name.endswith("_changelist"):
            queryset = queryset.defer("vector", "folded_into__vector")
        return queryset

    @admin.display(description="text")
    def short_text(self, item: MemoryItemModel) -> str:
        return item.text if len(item.text) <= 80 else item.text[:79] + "…"

    @admin.display(description="state")
    def state(self, item: MemoryItemModel) -> str:
        if item.deleted_at is not None:
            return "deleted"
        if item.folded_into_id is not None:
            return f"folded into {item.folded_into.public_id}"
        return "live"

    @admin.display(description="vector")
    def vector_summary(self, item: MemoryItemModel) -> str:
        vector = np.frombuffer(bytes(item.vector), dtype=VECTOR_DTYPE)
        if vector.size == 0:
            return "— (wiped)"
        return format_html(
            "{} dimensions, norm {}", vector.size, f"{float(np.linalg.norm(vector)):.4f}"
        )


@admin.register(FoldRecord)
class FoldRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "index", "created_at", "trigger", "before_count", "after_count", "absorbed_count",
        "tombstones_purged", "duration_ms",
    )  # fmt: skip
    list_filter = ("trigger", "index")
    list_select_related = ("index",)
    fields = (
        "index", "created_at", "trigger", "threshold", "before_count", "after_count", "groups",
        "absorbed", "tombstones_purged", "version", "duration_ms",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(Dream)
class DreamAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "owner", "index_name", "status", "created_at", "duration_ms")
    list_filter = ("status", "owner")
    search_fields = ("public_id", "seed")
    fields = (
        "public_id", "owner", "index", "index_name", "seed", "params", "status", "narrative",
        "chain", "associations", "memory_ids", "error", "attempts", "job", "created_at",
        "started_at", "finished_at", "duration_ms",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(StoredResponse)
class StoredResponseAdmin(ReadOnlyAdmin):
    """Stored /v1/responses: read-only (what GET and previous_response_id return)."""

    list_display = ("public_id", "owner", "model", "created_at")
    list_filter = ("model",)
    search_fields = ("public_id", "owner")
    fields = ("public_id", "owner", "model", "output_text", "input_messages", "body", "created_at")
    readonly_fields = fields


@admin.register(StoredChatCompletion)
class StoredChatCompletionAdmin(ReadOnlyAdmin):
    """Stored chat completions (``store: true``): read-only; owners change metadata via /v1."""

    list_display = ("public_id", "owner", "model", "created_at")
    list_filter = ("model",)
    search_fields = ("public_id", "owner")
    fields = ("public_id", "owner", "model", "metadata", "messages", "body", "created_at")
    readonly_fields = fields

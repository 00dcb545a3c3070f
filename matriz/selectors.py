"""Reads of MATRIZ: querysets shaped for their page or endpoint, getters that 404.

Getters take the ``owner`` so a caller can only ever reach its own indexes and
dreams: an index of another owner is "not found", never "forbidden" (which
would confirm that it exists).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import QuerySet

from lukhas_site.errors import NotFound
from matriz import runtime
from matriz.engine import RecallHit
from matriz.models import (
    Dream,
    FoldRecord,
    MemoryIndexModel,
    MemoryItemModel,
    StoredChatCompletion,
    StoredResponse,
)

INDEX_ID_PREFIX = "idx_"


def index_get(*, owner: str, name: str) -> MemoryIndexModel:
    index = MemoryIndexModel.objects.filter(owner=owner, name=name).first()
    if index is None:
        raise NotFound(
            f"no memory index named {name!r} for this owner: create it first, or check the name",
            code="index_not_found",
            param="index",
        )
    return index


def index_resolve(*, owner: str, ref: str) -> MemoryIndexModel:
    """The owner's index by public id (``idx_…``) or by name; 404 for anything else.

    An id is tried first; a name that happens to start with ``idx_`` still resolves.
    """
    if ref.startswith(INDEX_ID_PREFIX):
        found = MemoryIndexModel.objects.filter(owner=owner, public_id=ref).first()
        if found is not None:
            return found
    return index_get(owner=owner, name=ref)


def index_by_pk(*, pk: int) -> MemoryIndexModel | None:
    """An index by primary key (tasks re-fetch what they were given); None once deleted."""
    return MemoryIndexModel.objects.filter(pk=pk).first()


def index_list(*, owner: str | None = None) -> QuerySet[MemoryIndexModel]:
    """Indexes by owner and name (served by the owner+name unique index)."""
    indexes = MemoryIndexModel.objects.order_by("owner", "name")
    return indexes if owner is None else indexes.filter(owner=owner)


def index_query(
    *,
    index: MemoryIndexModel,
    text: str,
    top_k: int | None = None,
    filters: Mapping[str, Any] | None = None,
    min_score: float | None = None,
) -> list[RecallHit]:
    """Top-K memories of ``index`` for ``text`` (cosine, metadata filters), via the runtime."""
    return runtime.get_runtime().recall(
        text=text,
        indexes=[index.name],
        owner=index.owner,
        top_k=top_k,
        filters=filters,
        min_score=min_score,
    )


def items_list(*, index: MemoryIndexModel) -> QuerySet[MemoryItemModel]:
    """Live memories of an index in insertion order, without their vectors (the live index)."""
    return (
        MemoryItemModel.objects.filter(
            index=index, folded_into__isnull=True, deleted_at__isnull=True
        )
        .order_by("pk")
        .defer("vector")
    )


def item_get(*, index: MemoryIndexModel, public_id: str) -> MemoryItemModel:
    """A memory by id, live or folded (a folded one says where it lives on); 404 if deleted."""
    item = (
        MemoryItemModel.objects.filter(index=index, public_id=public_id, deleted_at__isnull=True)
        .select_related("folded_into")
        .defer("vector", "folded_into__vector")
        .first()
    )
    if item is None:
        raise NotFound(
            f"no memory {public_id!r} in index {index.key!r}", code="memory_not_found", param="id"
        )
    return item


def item_survivor(*, index: MemoryIndexModel, public_id: str) -> MemoryItemModel:
    """The live memory an id lives in: itself, or the survivor it was folded into."""
    item = item_get(index=index, public_id=public_id)
    return item.folded_into if item.folded_into_id is not None else item


def item_texts(*, owner: str, names: Sequence[str], ids: Sequence[str]) -> dict[str, str]:
    """{public id: text} of recalled memories (the ``memories`` of an answer's extension)."""
    if not ids:
        return {}
    rows = MemoryItemModel.objects.filter(
        index__owner=owner, index__name__in=list(names), public_id__in=list(ids)
    ).values_list("public_id", "text")
    return dict(rows)


def response_get(*, owner: str, public_id: str, param: str = "response_id") -> StoredResponse:
    """A stored response of the owner; 404 (naming ``param``) for any other id."""
    stored = StoredResponse.objects.filter(owner=owner, public_id=public_id).first()
    if stored is None:
        raise NotFound(
            f"No response found with id '{public_id}'.", code="response_not_found", param=param
        )
    return stored


def chat_completion_get(*, owner: str, public_id: str) -> StoredChatCompletion:
    """A stored chat completion of the owner; 404 for any other id."""
    stored = StoredChatCompletion.objects.filter(owner=owner, public_id=public_id).first()
    if stored is None:
        raise NotFound(
            f"No chat completion found with id '{public_id}'.",
            code="chat_completion_not_found",
            param="completion_id",
        )
    return stored


def chat_completions(
    *, owner: str, model: str | None = None, metadata: dict[str, str] | None = None
) -> QuerySet[StoredChatCompletion]:
    """The owner's stored chat completions, filtered by model and metadata pairs."""
    found = StoredChatCompletion.objects.filter(owner=owner)
    if model:
        found = found.filter(model=model)
    for key, value in (metadata or {}).items():
        found = found.filter(**{f"metadata__{key}": value})
    return found


def fold_records(*, index: MemoryIndexModel) -> QuerySet[FoldRecord]:
    return FoldRecord.objects.filter(index=index).order_by("-created_at")


def dream_get(*, owner: str, public_id: str) -> Dream:
    dream = Dream.objects.filter(owner=owner, public_id=public_id).first()
    if dream is None:
        raise NotFound(f"no dream {public_id!r}", code="dream_not_found", param="dream_id")
    return dream


def dream_list(*, owner: str) -> QuerySet[Dream]:
    """An owner's dreams, newest first (served by matriz_dream_owner_time_idx)."""
    return Dream.objects.filter(owner=owner).order_by("-created_at")


def indexes_for_page(*, limit: int = 100) -> list[MemoryIndexModel]:
    """The MATRIZ page's index table: one query, the columns it shows."""
    return list(
        MemoryIndexModel.objects.order_by("owner", "name").only(
            "public_id", "owner", "name", "embedder", "dimension", "item_count", "version",
            "writes_since_fold", "last_folded_at",
        )[:limit]
    )  # fmt: skip


def dreams_recent(*, limit: int = 5) -> list[Dream]:
    return list(
        Dream.objects.order_by("-created_at").only(
            "public_id", "owner", "index_name", "status", "created_at", "duration_ms", "error"
        )[:limit]
    )


def plugins_overview() -> dict[str, Any]:
    """What /system/plugins and the page show: plugins by kind, errors, stages, breakers."""
    runtime_ = runtime.get_runtime()
    described = runtime_.describe()
    plugins = runtime_.registry.describe()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for plugin in plugins:
        by_kind.setdefault(plugin["kind"], []).append(plugin)
    errors = [
        {"name": p["name"], "target": p["target"], "error": p["error"]}
        for p in plugins
        if p["error"]
    ]
    errors += [
        {"name": b["plugin"], "target": None, "error": b["error"]} for b in described["unbuilt"]
    ]
    return {
        "discovery": described["discovery"],
        "registered": [p["name"] for p in plugins if not p["error"]],
        "plugins": by_kind,
        "errors": errors,
        "stages": described["stages"],
        "breakers": described["breakers"],
        "deadline_ms": described["deadline_ms"],
        "loaded_indexes": described["loaded_indexes"],
    }

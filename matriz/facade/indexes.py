"""/v1/indexes: memory indexes of the caller (a LUKHAS extension in OpenAI's list style).

An index is addressed by its id (``idx_…``) or by its name; ``metadata.indexes``
of chat completions and responses accepts either, comma-separated.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from matriz import selectors, services
from matriz.facade.common import (
    DeletedOut,
    ListOut,
    OutModel,
    PageParams,
    caller,
    page,
    timestamp,
)
from matriz.facade.schemas import StrictModel
from matriz.models import MemoryIndexModel

router = Router()


class IndexIn(StrictModel):
    name: str = Field(min_length=1, max_length=64)
    metadata: dict[str, Any] | None = None
    embedder: str | None = Field(default=None, max_length=40)
    dimension: int | None = Field(default=None, ge=8, le=4096)


class ItemIn(StrictModel):
    text: str
    id: str | None = None
    metadata: dict[str, Any] | None = None


class ItemsIn(StrictModel):
    items: list[ItemIn] = Field(min_length=1, description="At most LUKHAS_MATRIZ_MAX_BATCH.")


class ItemsDeleteIn(StrictModel):
    ids: list[str] = Field(min_length=1, max_length=1000)


class QueryIn(StrictModel):
    query: str = Field(min_length=1)
    top_k: int | None = Field(default=None, ge=1, le=100)
    filters: dict[str, Any] | None = None
    min_score: float | None = Field(default=None, ge=-1, le=1)


class IndexOut(OutModel):
    id: str
    object: Literal["index"] = "index"
    name: str
    created_at: int
    item_count: int


def index_dict(index: MemoryIndexModel) -> dict[str, Any]:
    return {
        "id": index.public_id,
        "object": "index",
        "name": index.name,
        "created_at": timestamp(index.created_at),
        "item_count": index.item_count,
        "dimension": index.dimension,
        "embedder": index.embedder,
        "metadata": index.metadata,
        "version": index.version,
    }


def index_of(owner: str, ref: str) -> MemoryIndexModel:
    return selectors.index_resolve(owner=owner, ref=ref)


@router.post("/indexes", response=IndexOut, url_name="v1_indexes", operation_id="createIndex")
def create_index(request: HttpRequest, payload: IndexIn) -> dict:
    owner = caller(request, "indexes:write").owner
    index = services.index_create(
        owner=owner,
        name=payload.name,
        embedder=payload.embedder,
        dimension=payload.dimension,
        metadata=payload.metadata,
    )
    return index_dict(index)


@router.get("/indexes", response=ListOut, url_name="v1_indexes_list", operation_id="listIndexes")
def list_indexes(request: HttpRequest, params: Query[PageParams]) -> dict:
    owner = caller(request, "indexes:read").owner
    return page(selectors.index_list(owner=owner), params, index_dict)


@router.get(
    "/indexes/{index_id}", response=IndexOut, url_name="v1_index", operation_id="retrieveIndex"
)
def retrieve_index(request: HttpRequest, index_id: str) -> dict:
    owner = caller(request, "indexes:read").owner
    return index_dict(index_of(owner, index_id))


@router.delete(
    "/indexes/{index_id}",
    response=DeletedOut,
    url_name="v1_index_delete",
    operation_id="deleteIndex",
)
def delete_index(request: HttpRequest, index_id: str) -> dict:
    owner = caller(request, "indexes:write").owner
    index = index_of(owner, index_id)
    public_id = index.public_id
    services.index_delete(index=index)
    return {"id": public_id, "object": "index.deleted", "deleted": True}


def item_dict(item: Any) -> dict[str, Any]:
    return {
        "id": item.public_id,
        "object": "index.item",
        "text": item.text,
        "metadata": item.metadata,
        "created_at": timestamp(item.created_at),
    }


@router.post(
    "/indexes/{index_id}/items",
    response=OutModel,
    url_name="v1_index_items",
    operation_id="addIndexItems",
)
def add_items(request: HttpRequest, index_id: str, payload: ItemsIn) -> dict:
    """Add or replace memories (``{"text", "id"?, "metadata"?}``), up to the batch limit."""
    owner = caller(request, "indexes:write").owner
    index = index_of(owner, index_id)
    items = [item.model_dump(exclude_none=True) for item in payload.items]
    written = services.items_add(index=index, items=items)
    return {
        "object": "index.items.batch",
        "index_id": index.public_id,
        "ids": written.ids or [item.public_id for item in written.items],
        "created": written.created,
        "updated": written.updated,
        "unchanged": written.unchanged,
        "version": written.version,
    }


@router.get(
    "/indexes/{index_id}/items",
    response=ListOut,
    url_name="v1_index_items_list",
    operation_id="listIndexItems",
)
def list_items(request: HttpRequest, index_id: str, params: Query[PageParams]) -> dict:
    owner = caller(request, "indexes:read").owner
    index = index_of(owner, index_id)
    return page(selectors.items_list(index=index), params, item_dict)


@router.post(
    "/indexes/{index_id}/items/delete",
    response=OutModel,
    url_name="v1_index_items_delete",
    operation_id="deleteIndexItems",
)
def delete_items(request: HttpRequest, index_id: str, payload: ItemsDeleteIn) -> dict:
    owner = caller(request, "indexes:write").owner
    index = index_of(owner, index_id)
    deleted = services.items_delete(index=index, ids=payload.ids)
    return {"object": "index.items.deleted", "index_id": index.public_id, "deleted": deleted}


@router.post(
    "/indexes/{index_id}/query",
    response=ListOut,
    url_name="v1_index_query",
    operation_id="queryIndex",
)
def query_index(request: HttpRequest, index_id: str, payload: QueryIn) -> dict:
    """Top-K memories for ``query`` (cosine), with metadata filters (``$eq $ne $in $nin``)."""
    owner = caller(request, "indexes:read").owner
    index = index_of(owner, index_id)
    hits = selectors.index_query(
        index=index,
        text=payload.query,
        top_k=payload.top_k,
        filters=payload.filters,
        min_score=payload.min_score,
    )
    data = [{"object": "index.match", **hit.to_dict()} for hit in hits]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
    }

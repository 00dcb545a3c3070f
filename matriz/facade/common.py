"""What every façade operation shares: the caller, ids, list pages, output schemas."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from pydantic import BaseModel, ConfigDict, Field

from guardian.auth import Principal
from guardian.permissions import require_scope
from lukhas_site.errors import NotFound
from matriz.facade.owner import owner_key


class OutModel(BaseModel):
    """Answer shapes: the documented fields, and whatever else the answer carries."""

    model_config = ConfigDict(extra="allow")


class DeletedOut(OutModel):
    id: str
    object: str
    deleted: bool


class ListOut(OutModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


def now() -> int:
    return int(time.time())


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def caller(request: HttpRequest, scope: str) -> tuple[Principal, str]:
    """The principal (checked for ``scope``) and its owner key."""
    principal = require_scope(request, scope)
    return principal, owner_key(principal)


acaller = sync_to_async(caller)


class PageParams(BaseModel):
    after: str | None = Field(default=None, max_length=64, description="Cursor: an object id.")
    limit: int = Field(default=20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"


def page(
    queryset: QuerySet,
    params: PageParams,
    render: Callable[[Any], dict[str, Any]],
    *,
    id_field: str = "public_id",
) -> dict[str, Any]:
    """An OpenAI list page by creation order, with an ``after`` cursor (an object id)."""
    ordered = queryset.order_by("pk" if params.order == "asc" else "-pk")
    if params.after:
        anchor = queryset.filter(**{id_field: params.after}).values_list("pk", flat=True).first()
        if anchor is None:
            raise NotFound(f"no object {params.after!r} to list after", param="after")
        lookup = "pk__gt" if params.order == "asc" else "pk__lt"
        ordered = ordered.filter(**{lookup: anchor})
    rows: list[Model] = list(ordered[: params.limit + 1])
    has_more = len(rows) > params.limit
    data = [render(row) for row in rows[: params.limit]]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def timestamp(value: Any) -> int | None:
    return int(value.timestamp()) if value is not None else None

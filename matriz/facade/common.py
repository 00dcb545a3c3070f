"""What every façade operation shares: the caller, ids, list pages, output schemas.

:class:`Caller` is the façade's only door to Guardian: :func:`caller` crosses
it once on the way in (the PDP's scope decision; the middleware already
authenticated and rate-limited the request) and :meth:`Caller.charge` once
on the way out (the tokens the answer used).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from pydantic import BaseModel, ConfigDict, Field

from guardian.permissions import require_scope
from guardian.principals import Principal
from guardian.ratelimit import charge_tokens
from lukhas_site.errors import NotFound


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


def new_id(prefix: str, sep: str = "_") -> str:
    """OpenAI's id shapes: ``resp_…``, ``msg_…``, ``call_…``, but ``chatcmpl-…``."""
    return f"{prefix}{sep}{secrets.token_hex(16)}"


def owner_key(principal: Principal) -> str:
    """Whose indexes, dreams and stored responses a caller reaches.

    The tenant's slug for a key of a tenant, else the principal's scope id (``k12``).
    """
    tenant = principal.tenant
    if tenant is not None and tenant.slug:
        return tenant.slug
    return principal.scope_id


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as Guardian let them in: the principal and its owner key."""

    principal: Principal
    owner: str

    def charge(self, tokens: int) -> None:
        """The way out: the tokens the answer used, charged to the key (never refuses)."""
        charge_tokens(self.principal, tokens)

    async def acharge(self, tokens: int) -> None:
        await sync_to_async(charge_tokens)(self.principal, tokens)


def caller(request: HttpRequest, scope: str) -> Caller:
    """The way in: the request's principal, if the PDP lets it use ``scope``, and its owner."""
    principal = require_scope(request, scope)
    return Caller(principal=principal, owner=owner_key(principal))


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

"""/v1/dreams: submit a dream over an index (a job of the ``dream`` flow) and poll it.

Scopes: ``dreams:write`` for every operation — a dream is a write (a job
that runs), and reading one's own dreams back is part of that job; there is
no separate ``dreams:read`` scope in Guardian.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from matriz import selectors, services
from matriz.facade.common import ListOut, OutModel, PageParams, caller, page, timestamp
from matriz.facade.schemas import StrictModel
from matriz.models import Dream

router = Router()


class DreamIn(StrictModel):
    index: str = Field(min_length=1, max_length=64, description="Index name or id.")
    seed: str = Field(min_length=1)
    top_k: int | None = Field(default=None, ge=1, le=50)
    filters: dict[str, Any] | None = None


class DreamOut(OutModel):
    id: str
    object: Literal["dream"] = "dream"
    status: Literal["queued", "running", "succeeded", "failed"]
    narrative: str | None = None


def dream_dict(dream: Dream) -> dict[str, Any]:
    return {
        "id": dream.public_id,
        "object": "dream",
        "status": dream.status,
        "index": dream.index_name,
        "index_id": dream.index.public_id if dream.index_id else None,
        "seed": dream.seed,
        "narrative": dream.narrative or None,
        "reasoning_chain": dream.chain,
        "associations": dream.associations,
        "memory_ids": dream.memory_ids,
        "error": dream.error or None,
        "created_at": timestamp(dream.created_at),
        "started_at": timestamp(dream.started_at),
        "finished_at": timestamp(dream.finished_at),
        "duration_ms": dream.duration_ms,
    }


@router.post("/dreams", response=DreamOut, url_name="v1_dreams", operation_id="createDream")
def create_dream(request: HttpRequest, payload: DreamIn) -> dict:
    """Queue a dream; poll ``GET /v1/dreams/{id}`` until ``succeeded`` or ``failed``."""
    who = caller(request, "dreams:write")
    index = selectors.index_resolve(owner=who.owner, ref=payload.index)
    principal = who.principal
    dream = services.dream_submit(
        index=index,
        seed=payload.seed,
        top_k=payload.top_k,
        filters=payload.filters,
        by=principal.user if principal.user is not None else f"api-key:{principal.label}",
    )
    return dream_dict(dream)


@router.get("/dreams", response=ListOut, url_name="v1_dreams_list", operation_id="listDreams")
def list_dreams(request: HttpRequest, params: Query[PageParams]) -> dict:
    owner = caller(request, "dreams:write").owner
    dreams = selectors.dream_list(owner=owner).select_related("index")
    return page(dreams, params, dream_dict)


@router.get(
    "/dreams/{dream_id}", response=DreamOut, url_name="v1_dream", operation_id="retrieveDream"
)
def retrieve_dream(request: HttpRequest, dream_id: str) -> dict:
    owner = caller(request, "dreams:write").owner
    return dream_dict(selectors.dream_get(owner=owner, public_id=dream_id))

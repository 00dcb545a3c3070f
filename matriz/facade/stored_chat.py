"""Stored chat completions (``store: true``): list, retrieve, update metadata, delete, messages.

OpenAI keeps a chat completion made with ``store: true`` for its owner;
the SDK's ``chat.completions.retrieve / list / update / delete`` and
``chat.completions.messages.list`` read it. Another owner's id is 404.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from matriz import selectors, services
from matriz.facade.common import DeletedOut, ListOut, OutModel, PageParams, caller, page
from matriz.facade.responses import page_of_items
from matriz.facade.schemas import Metadata

router = Router()


class StoredCompletionOut(OutModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[dict[str, Any]]
    metadata: dict[str, str] = Field(default_factory=dict)


class ListParams(PageParams):
    order: Literal["asc", "desc"] = "asc"  # OpenAI lists stored completions oldest first
    model: str | None = Field(default=None, max_length=256)


class MetadataIn(Schema):
    metadata: Metadata | None


def _rendered(stored: Any) -> dict[str, Any]:
    return {**stored.body, "metadata": stored.metadata}


def _metadata_filter(request: HttpRequest) -> dict[str, str]:
    """``metadata[key]=value`` query pairs, as the SDK sends ``list(metadata={...})``."""
    return {
        key[len("metadata[") : -1]: value
        for key, value in request.GET.items()
        if key.startswith("metadata[") and key.endswith("]") and len(key) > len("metadata[]")
    }


def list_chat_completions(request: HttpRequest, query: Query[ListParams]) -> dict:
    """The caller's stored chat completions; ``model`` and ``metadata[key]=value`` filter.

    Routed by matriz/facade/chat.py: django-ninja keeps one path's methods in one router.
    """
    owner = caller(request, "models:read").owner
    found = selectors.chat_completions(
        owner=owner, model=query.model, metadata=_metadata_filter(request)
    )
    return page(found, query, _rendered)


@router.get(
    "/chat/completions/{completion_id}",
    response=StoredCompletionOut,
    url_name="v1_chat_completion",
    operation_id="getChatCompletion",
)
def retrieve_chat_completion(request: HttpRequest, completion_id: str) -> dict:
    owner = caller(request, "models:read").owner
    return _rendered(selectors.chat_completion_get(owner=owner, public_id=completion_id))


@router.post(
    "/chat/completions/{completion_id}",
    response=StoredCompletionOut,
    url_name="v1_chat_completion_update",
    operation_id="updateChatCompletion",
)
def update_chat_completion(request: HttpRequest, completion_id: str, payload: MetadataIn) -> dict:
    """Replace the stored completion's metadata (the one field OpenAI lets you change)."""
    owner = caller(request, "responses:write").owner
    stored = services.chat_completion_update(
        owner=owner, public_id=completion_id, metadata=payload.metadata
    )
    return _rendered(stored)


@router.delete(
    "/chat/completions/{completion_id}",
    response=DeletedOut,
    url_name="v1_chat_completion_delete",
    operation_id="deleteChatCompletion",
)
def delete_chat_completion(request: HttpRequest, completion_id: str) -> dict:
    owner = caller(request, "responses:write").owner
    services.chat_completion_delete(owner=owner, public_id=completion_id)
    return {"id": completion_id, "object": "chat.completion.deleted", "deleted": True}


class MessagesParams(PageParams):
    order: Literal["asc", "desc"] = "asc"


@router.get(
    "/chat/completions/{completion_id}/messages",
    response=ListOut,
    url_name="v1_chat_completion_messages",
    operation_id="getChatCompletionMessages",
)
def list_messages(request: HttpRequest, completion_id: str, query: Query[MessagesParams]) -> dict:
    """The messages the stored completion was asked with, each with its id."""
    owner = caller(request, "models:read").owner
    stored = selectors.chat_completion_get(owner=owner, public_id=completion_id)
    items = [{"content_parts": None, "name": None, **message} for message in stored.messages]
    return page_of_items(items, query)

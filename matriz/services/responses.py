"""Stored /v1/responses: the one write of ``POST /v1/responses`` with ``store`` true."""

from __future__ import annotations

from typing import Any

from matriz import selectors
from matriz.models import StoredChatCompletion, StoredResponse


def response_store(
    *,
    public_id: str,
    owner: str,
    model: str,
    conversation: list[dict[str, Any]],
    output_text: str,
    body: dict[str, Any],
    input_items: list[dict[str, Any]] | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> StoredResponse:
    """Keep an answered response: its conversation (with the answer) and the object GET returns.

    An answer that called tools keeps its calls in the conversation, so a
    follow-up with ``previous_response_id`` and the ``function_call_output``
    items reads as the exchange it is.
    """
    answer: dict[str, Any] = {"role": "assistant", "content": output_text}
    if tool_calls:
        answer = {"role": "assistant", "content": output_text or None, "tool_calls": tool_calls}
    return StoredResponse.objects.create(
        public_id=public_id,
        owner=owner,
        model=model,
        input_messages=[*conversation, answer],
        output_text=output_text,
        body=body,
        input_items=list(input_items or []),
    )


def response_delete(*, owner: str, public_id: str) -> None:
    """Forget a stored response of the owner (404 for anyone else's, as for a read).

    A later response that named it as ``previous_response_id`` keeps its own
    copy of the conversation, so deleting never changes another answer.
    """
    selectors.response_get(owner=owner, public_id=public_id).delete()


def chat_completion_store(
    *,
    owner: str,
    body: dict[str, Any],
    messages: list[dict[str, Any]],
    metadata: dict[str, str] | None,
) -> StoredChatCompletion:
    """Keep an answered chat completion (``store: true``) with its request's messages."""
    numbered = [{**m, "id": f"{body['id']}-{n}"} for n, m in enumerate(messages)]
    return StoredChatCompletion.objects.create(
        public_id=body["id"],
        owner=owner,
        model=body.get("model", ""),
        metadata=dict(metadata or {}),
        body=body,
        messages=numbered,
    )


def chat_completion_update(
    *, owner: str, public_id: str, metadata: dict[str, str] | None
) -> StoredChatCompletion:
    """Replace a stored completion's metadata (OpenAI's only modifiable field)."""
    stored = selectors.chat_completion_get(owner=owner, public_id=public_id)
    stored.metadata = dict(metadata or {})
    stored.save(update_fields=["metadata", "updated_at"])
    return stored


def chat_completion_delete(*, owner: str, public_id: str) -> None:
    selectors.chat_completion_get(owner=owner, public_id=public_id).delete()

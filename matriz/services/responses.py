"""Stored /v1/responses: the one write of ``POST /v1/responses`` with ``store`` true."""

from __future__ import annotations

from typing import Any

from matriz.models import StoredResponse


def response_store(
    *,
    public_id: str,
    owner: str,
    model: str,
    conversation: list[dict[str, Any]],
    output_text: str,
    body: dict[str, Any],
) -> StoredResponse:
    """Keep an answered response: its conversation (with the answer) and the object GET returns."""
    return StoredResponse.objects.create(
        public_id=public_id,
        owner=owner,
        model=model,
        input_messages=[*conversation, {"role": "assistant", "content": output_text}],
        output_text=output_text,
        body=body,
    )

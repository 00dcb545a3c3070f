"""Guardian's up-front token estimate of a /v1 request: the prompt it carries.

Cheap on purpose (it runs before every /v1 request): the tokens of the text
fields a request sends — messages' contents, ``input``, ``instructions`` —
or of the raw body when it is not the JSON we expect. ``charge_tokens``
takes what the answer really used afterwards.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from matriz.facade.tokens import content_text, count_tokens

# Reading a huge body just to estimate it would cost more than it saves.
MAX_ESTIMATED_BYTES = 4_000_000


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, str):
                parts.append(item)
            elif isinstance(item, dict):
                parts.append(content_text(item.get("content")))
        return "\n".join(parts)
    return ""


def estimate_request_tokens(request: HttpRequest) -> int:
    if request.method != "POST":
        return 0
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length <= 0 or length > MAX_ESTIMATED_BYTES:
        return 0
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return 0
    if not isinstance(body, dict):
        return 0
    texts = [
        _text_of(body.get("messages")),
        _text_of(body.get("input")),
        _text_of(body.get("instructions")),
    ]
    return sum(count_tokens(text) for text in texts if text)

"""Guardian's up-front token estimate of a /v1 request: its prompt and its answer.

Cheap on purpose (it runs before every /v1 request): the prompt tokens of
the text fields a request sends — messages, ``input``, ``instructions`` —
counted as the façade charges them, plus, for a request that answers
(chat completions, responses), the output limit it declares
(``max_completion_tokens``/``max_tokens``/``max_output_tokens``) or
:data:`OUTPUT_ALLOWANCE` when it declares none. Guardian reserves this
before the work and ``charge_tokens`` settles with what the answer really
used, so concurrent requests cannot overshoot a limit by more than what an
answer used beyond its estimate.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from matriz.facade.tokens import count_message_tokens

# Reading a huge body just to estimate it would cost more than it saves.
MAX_ESTIMATED_BYTES = 4_000_000
# Output tokens held for an answer whose request declares no limit. Only a
# reservation: the settlement refunds what the answer did not use, so this
# decides how many such requests a key's budget lets run at once.
OUTPUT_ALLOWANCE = 256
_ANSWERING_PATHS = ("/v1/chat/completions", "/v1/responses")
_OUTPUT_LIMITS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


def _messages_of(value: Any, role: str) -> list[dict]:
    """A text field as the messages the façade counts (a string is one message)."""
    if isinstance(value, str):
        return [{"role": role, "content": value}]
    if isinstance(value, list):
        return [
            item if isinstance(item, dict) else {"role": role, "content": str(item)}
            for item in value
        ]
    return []


def _output_limit(body: dict) -> int:
    for name in _OUTPUT_LIMITS:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return OUTPUT_ALLOWANCE


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
    messages = [
        *_messages_of(body.get("instructions"), "system"),
        *_messages_of(body.get("messages"), "user"),
        *_messages_of(body.get("input"), "user"),
    ]
    prompt = count_message_tokens(messages) if messages else 0
    if request.path.startswith(_ANSWERING_PATHS):
        return prompt + _output_limit(body)
    return prompt

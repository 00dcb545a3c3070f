"""Façade test fixtures: a caller with every scope, JSON helpers, a fresh MATRIZ runtime."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fresh_runtime():
    """Each test gets a runtime (and so upstream breakers) no earlier test has touched."""
    from matriz import runtime

    runtime.reset_runtime()
    yield
    runtime.reset_runtime()


@pytest.fixture
def auth(api_key_headers) -> dict[str, str]:
    return api_key_headers()


@pytest.fixture
def post(client, auth) -> Callable[..., Any]:
    """``post(path, body, headers=None)`` → the Django test response (JSON body)."""

    def send(path: str, body: Any, headers: dict[str, str] | None = None, **extra: Any) -> Any:
        return client.post(
            f"/v1{path}",
            data=body if isinstance(body, str | bytes) else json.dumps(body),
            content_type=extra.pop("content_type", "application/json"),
            headers={**auth, **(headers or {})},
            **extra,
        )

    return send


@pytest.fixture
def get(client, auth) -> Callable[..., Any]:
    def send(path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return client.get(f"/v1{path}", params, headers={**auth, **(headers or {})})

    return send


def stream_bytes(response) -> bytes:
    """The whole body of a (possibly async) streamed response."""
    if not response.is_async:
        return b"".join(response.streaming_content)
    from asgiref.sync import async_to_sync

    async def drain() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(drain)()


def sse_events(response) -> list[tuple[str | None, str]]:
    """(event, data) pairs of a streamed response; comments dropped."""
    raw = stream_bytes(response).decode()
    events = []
    for block in raw.split("\n\n"):
        event, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((event, "\n".join(data)))
    return events


@pytest.fixture
def connect(live_site, mint_key):
    """``connect(**env)`` → the official SDK client on a live site started with ``env``."""
    import openai

    def open_client(**env: str) -> openai.OpenAI:
        site = live_site(**env)
        plaintext, _ = mint_key()
        return openai.OpenAI(
            base_url=f"{site.base}/v1", api_key=plaintext, max_retries=0, timeout=30
        )

    return open_client

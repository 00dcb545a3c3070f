"""Server-sent events as the OpenAI SDK reads them.

Each event is an ``event:`` line (Responses API) and a ``data:`` line with
JSON; chat completion chunks are ``data:`` lines only and end with
``data: [DONE]``. While an answer is slow to come, a comment line (``:``)
every few seconds keeps proxies from closing the connection; SSE clients,
the SDK included, ignore comments.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

HEARTBEAT = b": keep-alive\n\n"
DONE = b"data: [DONE]\n\n"


def encode_event(data: dict | str, *, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


async def with_heartbeats(
    source: AsyncIterator[bytes], *, interval: float = 10.0
) -> AsyncIterator[bytes]:
    """Yield from ``source``, adding a comment line whenever it is quiet for ``interval`` s."""
    iterator = source.__aiter__()
    pending: asyncio.Task | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield HEARTBEAT
                continue
            finished, pending = pending, None
            try:
                chunk = finished.result()
            except StopAsyncIteration:
                return
            yield chunk
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()

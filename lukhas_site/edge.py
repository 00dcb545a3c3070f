"""The ASGI guard in front of Django: request bodies have a size and a pace.

Why we wrote it: Django's ASGI handler reads (and spools to disk) the whole
body before any middleware or view runs, so an anonymous ``Content-Length:
1 GB`` held a connection, and a 200 MB body was written to disk before the
403. uvicorn has no body limit. This guard answers 413 ``request_too_large``
*before reading* a body whose declared length is over
``LUKHAS_MAX_BODY_BYTES``, and stops reading a chunked (or otherwise
undeclared) body as soon as it passes the limit; a body that stops arriving
for ``LUKHAS_BODY_TIMEOUT`` seconds gets 408. Refusals are rendered with
:func:`lukhas_site.errors.error_body`: the OpenAI envelope under ``/v1``,
the ops envelope elsewhere, with ``Connection: close`` so the rest of the
body is never read.

It also holds the request classes that exempt the probes from the host
check: a kubelet or load balancer probes the pod IP (``Host: 10.1.2.3``),
which is not in ``ALLOWED_HOSTS``, so ``/healthz`` and ``/readyz`` answered
400 and a pod never became ready. A middleware cannot fix that (the
OpenTelemetry middleware, always first, already asks for the host), so the
request itself skips validation on those two paths, and only there; they
read nothing from the request.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest

from lukhas_site.context import new_request_id, request_id_var, sane_request_id
from lukhas_site.errors import (
    LukhasError,
    RequestTooLarge,
    ServiceUnavailable,
    envelope_for,
    error_body,
)

logger = logging.getLogger("lukhas.edge")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def too_large(limit: int, *, declared: int | None = None) -> RequestTooLarge:
    """The 413 a client can act on: the limit in bytes and the setting that holds it."""
    what = f"Content-Length {declared}" if declared is not None else "The request body"
    return RequestTooLarge(
        f"{what} is over the limit of {limit} bytes (LUKHAS_MAX_BODY_BYTES); send a smaller body."
    )


def body_timeout_error(seconds: float) -> LukhasError:
    return LukhasError(
        f"The request body stopped arriving for {seconds:g} s (LUKHAS_BODY_TIMEOUT).",
        status=408,
        code="request_timeout",
    )


class _BodyRefused(Exception):
    """Raised from ``receive`` to unwind Django's body read; the guard answers."""

    def __init__(self, error: LukhasError) -> None:
        super().__init__(error.message)
        self.error = error


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length, or None when it has none (or not a number:
    the server refuses those with its own 400 before we see them)."""
    for name, value in headers:
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitGuard:
    """Wraps an ASGI app: 413 above ``max_body_bytes``, 408 for a body that stalls."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout: float) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = declared_length(scope["headers"])
        if declared is not None and declared > limit:
            await self.refuse(scope, send, too_large(limit, declared=declared))
            return

        received = 0
        body_complete = False
        response_started = False

        async def guarded_receive() -> Message:
            nonlocal received, body_complete
            if body_complete:
                # After the body, Django only listens for the disconnect: no deadline.
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                raise _BodyRefused(body_timeout_error(self.body_timeout)) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyRefused(too_large(limit))
                body_complete = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracking_send)
        except _BodyRefused as refused:
            # Django reads the whole body before it answers, so nothing was sent yet.
            if response_started:
                raise
            await self.refuse(scope, send, refused.error)

    async def refuse(self, scope: Scope, send: Send, error: LukhasError) -> None:
        await send_refusal(scope, send, error)


async def send_refusal(
    scope: Scope, send: Send, error: LukhasError, *, headers: list[tuple[bytes, bytes]] = ()
) -> None:
    """Answer ``error`` in the path's envelope, logged with a request id, connection closed."""
    path = scope.get("path", "")
    request_id = sane_request_id(_header(scope, b"x-request-id")) or new_request_id()
    token = request_id_var.set(request_id)
    try:
        logger.warning(
            "%s %s refused at the edge: %s",
            scope.get("method"),
            path,
            error.message,
            extra={"status": error.status, "code": error.code},
        )
    finally:
        request_id_var.reset(token)
    body = json.dumps(error_body(error, envelope_for(path))).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
                (b"x-request-id", request_id.encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def concurrency_refusal(scope: Scope, receive: Receive, send: Send) -> None:
    """uvicorn's ``--limit-concurrency`` refusal, in the envelope instead of plain text.

    The SDKs retry a 503 after ``Retry-After``; one second is about how long
    a slot takes to free up under the load that fills 512 of them.
    """
    error = ServiceUnavailable(
        "The server is at its concurrency limit (LUKHAS_LIMIT_CONCURRENCY); retry in a second."
    )
    await send_refusal(scope, send, error, headers=[(b"retry-after", b"1")])


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


# The probe routes of lukhas_site/urls.py (names "healthz" and "readyz").
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class ProbeHostMixin:
    """``get_host()`` without the ALLOWED_HOSTS check on the probe paths only."""

    path_info: str

    def get_host(self) -> str:
        if self.path_info in PROBE_PATHS:
            return self._get_raw_host()  # type: ignore[attr-defined]
        return super().get_host()  # type: ignore[misc]


class SiteASGIRequest(ProbeHostMixin, ASGIRequest):
    pass


class SiteWSGIRequest(ProbeHostMixin, WSGIRequest):
    pass


class SiteASGIHandler(ASGIHandler):
    request_class = SiteASGIRequest


class SiteWSGIHandler(WSGIHandler):
    request_class = SiteWSGIRequest

"""uvicorn's HTTP/1.1 protocol (h11) with a header-read timeout, and our uvicorn flags.

Why we wrote it: uvicorn has no timeout for a request whose line and headers
never finish. Its keep-alive timer is armed only after a response, so a
client that opens a connection and sends half a header holds it (a file
descriptor and a ``--limit-concurrency`` slot) for as long as it likes: in
issue 10 a stalled header was still open after 65 s, and 200 of them all
stayed open. nginx calls this ``client_header_timeout``; the smallest honest
way to get it inside uvicorn is this subclass of uvicorn's own h11 protocol:
a timer armed when a connection opens and after each response, cancelled
once h11 holds a complete request head. When it fires, the connection is
closed (there is no request yet to answer).

Selected with ``uvicorn --http lukhas_site.serve:HeaderTimeoutH11Protocol``;
:func:`uvicorn_edge_args` gives that flag and uvicorn's own limits, read
from the environment, to the command lines that start the site (the
Procfile spells the same flags in shell, and a test holds them equal).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping

import h11
from django.core.exceptions import ImproperlyConfigured
from uvicorn.protocols.http import h11_impl
from uvicorn.protocols.http.h11_impl import H11Protocol

from lukhas_site.edge import concurrency_refusal
from lukhas_site.env import env_float

PROTOCOL = "lukhas_site.serve:HeaderTimeoutH11Protocol"

# Defaults, documented in README "Production" (name: default, reason).
DEFAULT_HEADER_TIMEOUT = 10.0  # a real client sends its headers in one packet
DEFAULT_LIMIT_CONCURRENCY = 512  # per process; well under the usual 1,024 descriptors
DEFAULT_KEEP_ALIVE_TIMEOUT = 5  # uvicorn's default, said out loud
DEFAULT_MAX_HEADER_BYTES = 16_384  # h11's default incomplete-event size, said out loud


def header_timeout() -> float:
    """Seconds a connection has to deliver a complete request head (LUKHAS_HEADER_TIMEOUT)."""
    seconds = env_float("LUKHAS_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT)
    if seconds <= 0:
        raise ImproperlyConfigured(f"LUKHAS_HEADER_TIMEOUT={seconds} must be above 0 seconds")
    return seconds


def uvicorn_edge_args(environ: Mapping[str, str] | None = None) -> list[str]:
    """uvicorn's limits and our protocol as command-line flags, from ``environ``.

    ``environ`` is the environment of the process to start (default: ours),
    so a test's live server gets the numbers its own environment sets.
    """
    environ = os.environ if environ is None else environ

    def number(name: str, default: int) -> str:
        raw = environ.get(name, "") or str(default)
        if not raw.isdigit() or int(raw) < 1:
            raise ImproperlyConfigured(f"{name}={raw!r} must be a whole number of at least 1")
        return raw

    return [
        *("--http", PROTOCOL),
        *("--limit-concurrency", number("LUKHAS_LIMIT_CONCURRENCY", DEFAULT_LIMIT_CONCURRENCY)),
        *("--timeout-keep-alive", number("LUKHAS_KEEP_ALIVE_TIMEOUT", DEFAULT_KEEP_ALIVE_TIMEOUT)),
        *(
            "--h11-max-incomplete-event-size",
            number("LUKHAS_MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES),
        ),
    ]


# uvicorn refuses a request over ``--limit-concurrency`` with a plain-text 503
# taken from this module global of its h11 protocol; our contract is the
# envelope on every answer (OpenAI's under /v1), so the protocol we select
# swaps in our refusal. Only processes started with ``--http PROTOCOL``
# import this module, so nothing else is touched.
h11_impl.service_unavailable = concurrency_refusal

# Read when uvicorn imports the protocol (at start-up), so a bad value stops
# the server there rather than at the first connection.
HEADER_TIMEOUT = header_timeout()


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that closes a connection whose request head is late."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = HEADER_TIMEOUT
        self.header_timeout_task: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timeout()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timeout()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        # h11 leaves IDLE for SEND_BODY/DONE once the request line and headers
        # are complete: from then on the request is the application's business.
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_timeout()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request on a kept-alive connection gets the same bound,
        # counted from the end of this response (keep-alive may close it sooner).
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timeout()

    def _arm_header_timeout(self) -> None:
        self._cancel_header_timeout()
        self.header_timeout_task = self.loop.call_later(
            self.header_timeout, self._header_timeout_expired
        )

    def _cancel_header_timeout(self) -> None:
        if self.header_timeout_task is not None:
            self.header_timeout_task.cancel()
            self.header_timeout_task = None

    def _header_timeout_expired(self) -> None:
        self.header_timeout_task = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info(
                "closing a connection whose request head did not arrive within %ss "
                "(LUKHAS_HEADER_TIMEOUT)",
                self.header_timeout,
                extra={"client": f"{self.client[0]}:{self.client[1]}" if self.client else None},
            )
            self.transport.close()

"""The ids of the work in progress (request id), shared by logs, tasks and headers.

A ContextVar follows the request through sync and async code (asgiref copies
the context into its threads) and is restored into Celery tasks from their
headers, so one id ties a request to the log lines and tasks it caused.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from opentelemetry import trace

request_id_var: ContextVar[str | None] = ContextVar("lukhas_request_id", default=None)

# What we accept from a client: short, printable, no spaces, so a hostile
# header cannot forge log lines or bloat them.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/+=-]{0,127}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(candidate: str | None) -> str | None:
    if candidate and _SANE_REQUEST_ID.match(candidate):
        return candidate
    return None


def current_request_id() -> str | None:
    return request_id_var.get()


def current_trace_id() -> str | None:
    """The W3C trace id of the active span, or None when nothing is recording."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x")


def current_span_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.span_id, "016x")

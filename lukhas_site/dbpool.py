"""A database that is full answers 503 + Retry-After, never 500; the pool's use as metrics.

Under a burst, a request may find no database connection: the process's
psycopg pool did not hand one out within ``LUKHAS_DB_POOL_TIMEOUT``
(``PoolTimeout``, ``TooManyRequests``), or, without a pool, PostgreSQL
refused one more client ("too many clients", "remaining connection slots").
That is a temporary refusal, so the client is told to come back
(``ServiceUnavailable`` in the root's envelope on ``/v1`` and ``/api``, a
small HTML page elsewhere), and the SDKs retry it after ``Retry-After``.

Django turns an exception raised inside a middleware (Guardian's key lookup,
the session middleware) into a 500 at that middleware's boundary, before any
outer middleware can catch it. So the exception is noticed where Django
reports it (``got_request_exception``) and marked on the request, and
:class:`DatabaseUnavailableMiddleware`, outside everything that touches the
database, swaps that 500 for the 503. Exceptions of page views are caught by
its ``process_exception``; the two API roots call :func:`unavailable_response`
from their own exception handler.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string
from psycopg_pool import PoolTimeout, TooManyRequests

from lukhas_site import metrics
from lukhas_site.errors import ServiceUnavailable, render_error
from lukhas_site.middleware import HybridMiddleware, is_api_path

logger = logging.getLogger(__name__)

# What PostgreSQL says when max_connections is reached (SQLSTATE 53300).
_SERVER_FULL = ("too many clients", "remaining connection slots", "too_many_connections")
_MARK = "_lukhas_db_unavailable"


def exhaustion_reason(exc: BaseException | None) -> str | None:
    """``"pool_timeout"``, ``"pool_queue_full"`` or ``"server_full"`` when ``exc`` means
    "no connection to spare right now" (itself or a cause of it); None otherwise."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, TooManyRequests):
            return "pool_queue_full"
        if isinstance(exc, PoolTimeout):
            return "pool_timeout"
        if getattr(exc, "sqlstate", None) == "53300" or any(
            phrase in str(exc) for phrase in _SERVER_FULL
        ):
            return "server_full"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def unavailable_error() -> ServiceUnavailable:
    """The refusal a shed request gets; the SDKs retry a 503 after Retry-After."""
    retry_after = settings.DB_RETRY_AFTER_SECONDS
    return ServiceUnavailable(
        f"The database is at capacity. Retry in {retry_after} s.",
        code="database_busy",
        headers={"Retry-After": str(retry_after)},
    )


def unavailable_response(request: HttpRequest, reason: str) -> HttpResponse:
    """503 in the envelope of the path: JSON under the API roots, an HTML page elsewhere."""
    metrics.db_unavailable_total.labels(reason).inc()
    if reason == "pool_timeout":
        metrics.db_pool_timeouts_total.inc()
    logger.warning(
        "database unavailable (%s): %s %s answered 503",
        reason,
        request.method,
        request.path,
        extra={"reason": reason},
    )
    error = unavailable_error()
    # /system/plugins answers JSON too, beside the two API roots.
    if is_api_path(request.path) or request.path.startswith("/system/"):
        return render_error(request, error)
    # Rendered without the request: the context processors would read the
    # session and the user, i.e. ask the database that just said no.
    html = render_to_string("503.html", {"message": error.message})
    return HttpResponse(html, status=503, headers=error.headers)


def _mark_request(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """``got_request_exception``: remember that the 500 Django is rendering is a full database."""
    if request is None:
        return
    # Django sends the signal inside its ``except`` block, so the exception is current.
    reason = exhaustion_reason(sys.exc_info()[1])
    if reason is not None:
        setattr(request, _MARK, reason)


got_request_exception.connect(_mark_request, dispatch_uid="lukhas_site.dbpool.mark")


def _not_a_crash(record: logging.LogRecord) -> bool:
    """Drop Django's "Internal Server Error" line for a request that is answered 503:
    it is not a crash, and :func:`unavailable_response` logs one warning for it."""
    exc = record.exc_info[1] if record.exc_info else None
    return exhaustion_reason(exc) is None


logging.getLogger("django.request").addFilter(_not_a_crash)


class DatabaseUnavailableMiddleware(HybridMiddleware):
    """Outside sessions, auth and Guardian: a full database becomes 503 + Retry-After.

    Also samples the pool's figures into the ``lukhas_db_pool_*`` gauges at
    the end of every request. Works sync and async, like the site's other
    middlewares.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        reason = exhaustion_reason(exception)
        return unavailable_response(request, reason) if reason else None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        reason = getattr(request, _MARK, None)
        if reason is not None and response.status_code == 500:
            response = unavailable_response(request, reason)
        record_pool_stats()
        return response


def record_pool_stats(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Copy this process's pool figures into the gauges (no I/O: the pool's own counters)."""
    if not settings.DATABASES[alias].get("OPTIONS", {}).get("pool"):
        return
    pool = connections[alias].pool
    if pool is None:
        return
    stats = pool.get_stats()
    metrics.db_pool_max.set(stats.get("pool_max", 0))
    metrics.db_pool_size.set(stats.get("pool_size", 0))
    metrics.db_pool_available.set(stats.get("pool_available", 0))
    metrics.db_pool_waiting.set(stats.get("requests_waiting", 0))

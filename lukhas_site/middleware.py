"""Request ids, trace ids and HTTP metrics for every response.

Both middlewares work sync and async, so a streaming async view under
uvicorn is not pushed through a thread just to be measured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from lukhas_site import metrics
from lukhas_site.context import (
    current_span_id,
    current_trace_id,
    new_request_id,
    request_id_var,
    sane_request_id,
)

access_logger = logging.getLogger("lukhas.access")

Handler = Callable[[HttpRequest], HttpResponseBase]


class _HybridMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        state = self.before(request)
        try:
            return self.after(request, self.get_response(request))
        finally:
            self.finish(state)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        state = self.before(request)
        try:
            return self.after(request, await self.get_response(request))
        finally:
            self.finish(state)

    def before(self, request: HttpRequest) -> object:
        """Runs first; what it returns is handed to finish() of the same request."""
        return None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return response

    def finish(self, state: object) -> None:
        return None


class RequestContextMiddleware(_HybridMiddleware):
    """Echo a sane ``X-Request-ID`` or make one; add the trace id to the response."""

    def before(self, request: HttpRequest) -> object:
        request_id = sane_request_id(request.headers.get("X-Request-ID")) or new_request_id()
        request.request_id = request_id
        return request_id_var.set(request_id)

    def finish(self, state: object) -> None:
        request_id_var.reset(state)

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response["X-Request-ID"] = request.request_id
        trace_id = current_trace_id()
        if trace_id:
            response["X-Trace-ID"] = trace_id
            # W3C Trace Context level 2 response header.
            response["traceresponse"] = f"00-{trace_id}-{current_span_id()}-01"
        return response


class MetricsMiddleware(_HybridMiddleware):
    """Count and time requests by route template, method and status class."""

    def before(self, request: HttpRequest) -> object:
        request._lukhas_started = time.perf_counter()
        return None

    def after(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        elapsed = time.perf_counter() - request._lukhas_started
        route = route_template(request)
        status = metrics.status_class(response.status_code)
        method = request.method if request.method in _KNOWN_METHODS else "OTHER"
        metrics.http_requests_total.labels(route, method, status).inc()
        metrics.http_request_duration_seconds.labels(route, method, status).observe(elapsed)
        if route not in _QUIET_ROUTES:
            access_logger.log(
                logging.WARNING if response.status_code >= 500 else logging.INFO,
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                elapsed * 1000,
                extra={
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
        # The access line above (or the failing check, for /readyz) already
        # tells the story; Django's own "Not Found: /path" line would say it
        # again after this middleware, without the ids. Exceptions are still
        # logged by Django, with their traceback, inside the request.
        response._has_been_logged = True
        return response


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes every few seconds would drown the access log.
_QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})


def route_template(request: HttpRequest) -> str:
    """The URL pattern that matched (``api/tasks/<int:pk>``), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return match.route or match.view_name or "<unnamed>"

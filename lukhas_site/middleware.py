"""Request ids, trace ids, HTTP metrics and JSON errors for every response.

Every middleware here works sync and async, so a streaming async view under
uvicorn is not pushed through a thread just to be measured.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from lukhas_site import metrics
from lukhas_site.context import (
    current_span_id,
    current_trace_id,
    new_request_id,
    request_id_var,
    sane_request_id,
)
from lukhas_site.edge import too_large
from lukhas_site.errors import (
    AuthenticationFailed,
    InvalidRequest,
    LukhasError,
    NotFound,
    PermissionDenied,
    RequestTooLarge,
    render_error,
    server_error,
)

access_logger = logging.getLogger("lukhas.access")

Handler = Callable[[HttpRequest], HttpResponseBase]


class HybridMiddleware:
    """A middleware that works sync and async: subclasses fill in before/after/finish."""

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


class RequestContextMiddleware(HybridMiddleware):
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


class MetricsMiddleware(HybridMiddleware):
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
        if request.path.startswith("/v1/"):
            _observe_v1_answer(response, route, request._lukhas_started, elapsed)
            # OpenAI's header (SDKs and proxies log it): the server's share of
            # the wait, to the response's headers (a stream's first byte).
            response["openai-processing-ms"] = str(round(elapsed * 1000))
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


def _observe_v1_answer(
    response: HttpResponseBase, route: str, started: float, elapsed: float
) -> None:
    """The /v1 latency SLIs: a whole answer now, a stream when its first chunk leaves."""
    if not response.streaming:
        metrics.v1_answer_duration_seconds.labels(route).observe(elapsed)
        return
    first_byte = metrics.v1_stream_first_byte_seconds.labels(route)
    original = response.streaming_content

    if response.is_async:

        async def timed_async() -> AsyncIterator[bytes]:
            observed = False
            async for chunk in original:
                if not observed and chunk:
                    first_byte.observe(time.perf_counter() - started)
                    observed = True
                yield chunk

        response.streaming_content = timed_async()
        return

    def timed_sync() -> Iterator[bytes]:
        observed = False
        for chunk in original:
            if not observed and chunk:
                first_byte.observe(time.perf_counter() - started)
                observed = True
            yield chunk

    response.streaming_content = timed_sync()


_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes every few seconds would drown the access log.
_QUIET_ROUTES = frozenset({"healthz", "readyz", "metrics"})


def route_template(request: HttpRequest) -> str:
    """The URL pattern that matched (``api/tasks/<int:pk>``), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return match.route or match.view_name or "<unnamed>"


def is_api_path(path: str) -> bool:
    """``/v1`` and ``/api`` answer JSON errors in their envelope; pages keep HTML."""
    return path in {"/v1", "/api"} or path.startswith(("/v1/", "/api/"))


class ErrorEnvelopeMiddleware(HybridMiddleware):
    """Every error under ``/v1`` and ``/api`` is JSON in the path's envelope.

    The API roots render their own errors; what still arrives here as HTML
    comes from Django around them (a 405 from a method check, the CSRF 403)
    and is rendered again by :func:`lukhas_site.errors.render_error`. A body
    declared over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is refused here with the
    413 before anything reads it: under ASGI the edge guard already did,
    under WSGI this is the only place.
    """

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self.__acall__(request)
        if not is_api_path(request.path):
            return self.get_response(request)
        return early_refusal(request) or as_envelope(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if not is_api_path(request.path):
            return await self.get_response(request)
        return early_refusal(request) or as_envelope(request, await self.get_response(request))


def early_refusal(request: HttpRequest) -> HttpResponseBase | None:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return render_error(request, InvalidRequest("Content-Length is not a number"))
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and declared > limit:
        return render_error(request, too_large(limit, declared=declared))
    return None


# Status → the refusal a client gets when Django (not our code) said no.
_REFUSALS: dict[int, type[LukhasError]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    413: RequestTooLarge,
}
# Headers that tell the client what to do next; kept on the JSON answer.
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def as_envelope(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """``response`` itself when it is a success or already JSON; else the same error as JSON."""
    if response.status_code < 400 or response.streaming:
        return response
    if response.get("Content-Type", "").startswith("application/json"):
        return response
    status = response.status_code
    headers = {name: response[name] for name in _KEPT_HEADERS if response.has_header(name)}
    if status == 405:
        allowed = response.get("Allow", "")
        refusal = LukhasError(
            f"{request.method} is not allowed on {request.path}; allowed: {allowed or 'none'}.",
            status=405,
            code="method_not_allowed",
        )
    elif status >= 500:
        refusal = server_error(request)
        refusal.status = status
    else:
        kind = _REFUSALS.get(status, LukhasError)
        refusal = kind(
            f"{request.method} {request.path} was refused: {status} {response.reason_phrase}.",
            status=status,
        )
    refusal.headers = headers
    return render_error(request, refusal)

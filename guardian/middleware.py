"""GuardianMiddleware: bearer keys, rate limits + headers and idempotency for /v1 and /api.

For a request under ``/v1/`` or ``/api/`` it, in order:

1. authenticates a bearer key (a bad one is a 401 here, in the root's error
   envelope), so the limiter knows whose request it is;
2. takes the request from the key's and tenant's buckets and reserves the
   façade's token estimate (429 when empty, ``insufficient_quota`` when the
   daily quota is spent) and puts the ``x-ratelimit-*`` / ``RateLimit*``
   headers on the response — before the body, so a stream carries them at
   its start; ``GET /api/guardian/me`` takes a request but no tokens, so a
   key can always read its budget;
3. for a POST with ``Idempotency-Key``, replays, refuses or records (see
   guardian.idempotency);
4. after the view, releases a reservation the view did not settle (the
   façade settles with ``charge_tokens``): at once for a refusal, a failure
   or a plain answer, at the end of a stream that ran to completion.

Per-operation scope checks stay with the operations (ninja auth +
``require_scope``). Works sync and async, like the site's own middlewares.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.http.request import RawPostDataException
from opentelemetry import trace

from guardian import idempotency, keys, metrics, pdp, ratelimit, services
from guardian.auth import AUTH_ERROR_ATTR, PRINCIPAL_ATTR, authenticate_token
from guardian.models import DenialKind
from guardian.principals import Principal
from guardian.redis_client import BackendUnavailable
from lukhas_site.errors import AuthenticationFailed, LukhasError, ServiceUnavailable, render_error

logger = logging.getLogger(__name__)

GUARDED_PREFIXES = ("/v1/", "/api/")
# Read-only budget views: never charged tokens, never refused by a quota.
UNMETERED_PATHS = frozenset({"/api/guardian/me"})


@dataclass(slots=True)
class _State:
    principal: Principal | None = None
    outcome: ratelimit.Outcome | None = None
    begun: idempotency.Begun | None = None


class GuardianMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if not request.path.startswith(GUARDED_PREFIXES):
            return self.get_response(request)
        state = _State()
        early = self.before(request, state)
        if early is not None:
            self.release(state)
            return self.decorate(early, state)
        try:
            response = self.get_response(request)
        except BaseException:
            self.abandon(state)
            raise
        return self.after(request, response, state)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if not request.path.startswith(GUARDED_PREFIXES):
            return await self.get_response(request)
        state = _State()
        # Key lookup, limiter and idempotency store are blocking I/O.
        early = await sync_to_async(self.before)(request, state)
        if early is not None:
            if _holds_reservation(state):
                await sync_to_async(self.release)(state)
            return self.decorate(early, state)
        try:
            response = await self.get_response(request)
        except BaseException:
            await sync_to_async(self.abandon)(state)
            raise
        return await sync_to_async(self.after)(request, response, state)

    # --- before the view -----------------------------------------------------------

    def before(self, request: HttpRequest, state: _State) -> HttpResponseBase | None:
        pdp.refresh_if_stale()
        try:
            return self._before(request, state)
        except LukhasError as exc:
            return render_error(request, exc)

    def _before(self, request: HttpRequest, state: _State) -> HttpResponseBase | None:
        token = keys.bearer_token(request.headers.get("Authorization"))
        if token is not None:
            try:
                state.principal = authenticate_token(token, request)
            except AuthenticationFailed as exc:
                setattr(request, AUTH_ERROR_ATTR, exc)
                raise
            setattr(request, PRINCIPAL_ATTR, state.principal)
            _annotate_span(state.principal)
            if request.path in UNMETERED_PATHS and request.method in ("GET", "HEAD"):
                state.outcome = ratelimit.check_request(state.principal, metered=False)
            else:
                state.outcome = ratelimit.check_request(
                    state.principal, estimate=ratelimit.estimate_tokens(request)
                )
            if state.outcome is not None and not state.outcome.allowed:
                self._throttled(request, state)
        if request.method == "POST" and idempotency.HEADER in request.headers:
            return self._idempotency_begin(request, state)
        return None

    def _throttled(self, request: HttpRequest, state: _State) -> None:
        outcome = state.outcome
        services.denial_record(
            kind=DenialKind.QUOTA if outcome.quota_exhausted else DenialKind.RATE_LIMIT,
            reason=outcome.denied or "",
            principal=state.principal,
            request=request,
        )
        state.outcome = None  # the refusal carries its own headers
        raise ratelimit.refused(outcome)

    def _idempotency_begin(self, request: HttpRequest, state: _State) -> HttpResponseBase | None:
        key = request.headers[idempotency.HEADER]
        if not key or len(key) > idempotency.MAX_KEY_LENGTH:
            metrics.idempotency_total.labels("invalid_key").inc()
            raise LukhasError(
                f"Idempotency-Key must be 1 to {idempotency.MAX_KEY_LENGTH} characters "
                f"(got {len(key)}).",
                code="invalid_idempotency_key",
                param=idempotency.HEADER,
            )
        principal = state.principal
        if principal is None:
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                return None  # the operation answers 401; nothing to scope the key to
            scope = f"u{user.pk}"
        else:
            scope = principal.scope_id
        try:
            begun = idempotency.begin(scope=scope, key=key, request=request)
        except RawPostDataException:
            return None
        except BackendUnavailable:
            closed = settings.GUARDIAN_FAIL_MODE == "closed"
            metrics.backend_errors_total.labels("idempotency", "closed" if closed else "open").inc()
            metrics.idempotency_total.labels("backend_error").inc()
            if closed:
                raise ServiceUnavailable(
                    "Idempotency keys cannot be checked right now (fail-closed); retry shortly.",
                    headers={"Retry-After": "1"},
                ) from None
            return None
        if begun.claim == idempotency.Claim.NEW:
            state.begun = begun
            return None
        if begun.claim == idempotency.Claim.REPLAY:
            metrics.idempotency_total.labels("replayed").inc()
            return begun.stored.to_response()
        if begun.claim == idempotency.Claim.CONFLICT:
            metrics.idempotency_total.labels("conflict").inc()
            raise LukhasError(
                "This Idempotency-Key was already used with a different request (method, path "
                "or body). Use a new key for a new request.",
                code="idempotency_key_reused",
                param=idempotency.HEADER,
                status=422,
            )
        metrics.idempotency_total.labels("in_flight").inc()
        raise LukhasError(
            "A request with this Idempotency-Key is still being processed. Retry after it "
            "finishes to get its response.",
            code="idempotency_key_in_use",
            param=idempotency.HEADER,
            status=409,
            headers={"Retry-After": "1"},
        )

    # --- after the view --------------------------------------------------------------

    def after(
        self, request: HttpRequest, response: HttpResponseBase, state: _State
    ) -> HttpResponseBase:
        if state.begun is not None:
            self._idempotency_finish(response, state.begun)
        if response.streaming and response.status_code < 400:
            _release_at_stream_end(response, state)
        else:
            self.release(state)
        return self.decorate(response, state)

    def decorate(self, response: HttpResponseBase, state: _State) -> HttpResponseBase:
        if state.outcome is not None:
            for name, value in ratelimit.headers_for(state.outcome).items():
                response[name] = value
        return response

    def abandon(self, state: _State) -> None:
        if state.begun is not None:
            idempotency.release(state.begun)
        self.release(state)

    def release(self, state: _State) -> None:
        """Give back the tokens reserved for a request that did not settle them."""
        if _holds_reservation(state):
            ratelimit.release(state.principal)

    def _idempotency_finish(self, response: HttpResponseBase, begun: idempotency.Begun) -> None:
        if not idempotency.should_store(response.status_code):
            idempotency.release(begun)
            metrics.idempotency_total.labels("not_stored").inc()
            return
        headers = idempotency.storable_headers(response)
        if response.streaming:
            _tee_stream(response, begun, headers)
            return
        body = response.content
        if len(body) > settings.GUARDIAN_IDEMPOTENCY_MAX_BYTES:
            idempotency.release(begun)
            metrics.idempotency_total.labels("too_large").inc()
            return
        idempotency.complete(begun, idempotency.StoredResponse(response.status_code, headers, body))
        metrics.idempotency_total.labels("stored").inc()


def _finish_stream(
    begun: idempotency.Begun, status: int, headers: list, chunks: list[bytes], complete: bool
) -> None:
    body = b"".join(chunks)
    if not complete or len(body) > settings.GUARDIAN_IDEMPOTENCY_MAX_BYTES:
        # A stream cut short (client gone, generator failed) has no whole answer to keep.
        idempotency.release(begun)
        metrics.idempotency_total.labels("not_stored").inc()
        return
    idempotency.complete(begun, idempotency.StoredResponse(status, headers, body))
    metrics.idempotency_total.labels("stored").inc()


def _tee_stream(response: HttpResponseBase, begun: idempotency.Begun, headers: list) -> None:
    """Pass the stream through unchanged, keeping a copy to store when it ends."""
    status = response.status_code
    original = response.streaming_content

    if response.is_async:

        async def tee_async() -> AsyncIterator[bytes]:
            chunks: list[bytes] = []
            complete = False
            try:
                async for chunk in original:
                    chunks.append(bytes(chunk))
                    yield chunk
                complete = True
            finally:
                await sync_to_async(_finish_stream)(begun, status, headers, chunks, complete)

        response.streaming_content = tee_async()
        return

    def tee_sync() -> Iterator[bytes]:
        chunks: list[bytes] = []
        complete = False
        try:
            for chunk in original:
                chunks.append(bytes(chunk))
                yield chunk
            complete = True
        finally:
            _finish_stream(begun, status, headers, chunks, complete)

    response.streaming_content = tee_sync()


def _holds_reservation(state: _State) -> bool:
    reservation = state.principal.reservation if state.principal is not None else None
    return reservation is not None and not reservation.settled


def _release_at_stream_end(response: HttpResponseBase, state: _State) -> None:
    """At the end of a stream that ran to completion, give back what was not settled.

    A stream cut short (the client went away) keeps its reservation: the
    work it stood for was (partly) done and its usage never reported.
    """
    if not _holds_reservation(state):
        return
    original = response.streaming_content

    if response.is_async:

        async def release_async() -> AsyncIterator[bytes]:
            complete = False
            try:
                async for chunk in original:
                    yield chunk
                complete = True
            finally:
                if complete and _holds_reservation(state):
                    await sync_to_async(ratelimit.release)(state.principal)

        response.streaming_content = release_async()
        return

    def release_sync() -> Iterator[bytes]:
        complete = False
        try:
            yield from original
            complete = True
        finally:
            if complete and _holds_reservation(state):
                ratelimit.release(state.principal)

    response.streaming_content = release_sync()


def _annotate_span(principal: Principal) -> None:
    """Who called, on the request's span: ids only, never the key itself."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    span.set_attribute("guardian.principal_kind", principal.kind)
    if principal.api_key is not None:
        span.set_attribute("guardian.api_key_id", principal.api_key.pk)
    if principal.tenant is not None:
        span.set_attribute("guardian.tenant", principal.tenant.slug)

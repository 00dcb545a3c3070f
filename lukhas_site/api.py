"""The two API roots: ``/api/`` (ops) and ``/v1/`` (OpenAI-compatible façade).

Each root maps the site's exception hierarchy once. ``/v1`` answers in the
OpenAI envelope ``{"error": {"message", "type", "param", "code"}}`` with
validation failures as 400 ``invalid_request_error`` naming the field, as
OpenAI does; ``/api`` answers ``{"error": {"code", "message", "param",
"errors"}}``. Apps add their routers at the bottom of this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from guardian.auth import docs_access, ops_auth, v1_auth
from lukhas_site.dbpool import exhaustion_reason, unavailable_response
from lukhas_site.errors import (
    AuthenticationFailed,
    Envelope,
    InvalidRequest,
    LukhasError,
    NotFound,
    PermissionDenied,
    ServerError,
    render_error,
    server_error,
)

logger = logging.getLogger(__name__)


def field_path(loc: Iterable[Any]) -> str:
    """``("body", "body", "messages", 0, "role")`` → ``messages[0].role``.

    The first element is where the value came from (body, query, path); for a
    body, ninja then names the handler's parameter, which callers never see.
    """
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form", "file"}:
        parts.pop(0)
        # Our handlers name schema parameters body/payload/data/filters;
        # ninja puts that name in the path, clients never wrote it.
        if len(parts) > 1 and parts[0] in {"body", "payload", "data", "filters", "params"}:
            parts.pop(0)
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(error: dict[str, Any]) -> str:
    path = field_path(error.get("loc", ()))
    msg = error.get("msg", "is invalid")
    return f"{path}: {msg}" if path else msg


class LukhasAPI(NinjaAPI):
    """A NinjaAPI whose every error, including 404s and crashes, is JSON in one shape.

    Ninja's own exceptions are translated into the site's hierarchy here; the
    rendering itself is :func:`lukhas_site.errors.render_error`, shared with
    the middlewares and JSON views.
    """

    openai_envelope: bool = False

    @property
    def envelope(self) -> Envelope:
        return "openai" if self.openai_envelope else "ops"

    def render(
        self,
        request: HttpRequest,
        exc: LukhasError,
        *,
        errors: list[dict[str, str]] | None = None,
    ) -> HttpResponse:
        return render_error(request, exc, envelope=self.envelope, errors=errors)

    def set_default_exception_handlers(self) -> None:
        self.add_exception_handler(LukhasError, self._on_lukhas_error)
        self.add_exception_handler(ValidationError, self._on_validation_error)
        self.add_exception_handler(HttpError, self._on_http_error)
        self.add_exception_handler(Http404, self._on_404)
        self.add_exception_handler(MultiPartParserError, self._on_bad_multipart)
        self.add_exception_handler(Exception, self._on_crash)

    def _on_lukhas_error(self, request: HttpRequest, exc: LukhasError) -> HttpResponse:
        return self.render(request, exc)

    def _on_validation_error(self, request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [
            {"param": field_path(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors
        ]
        first = exc.errors[0] if exc.errors else {}
        message = "; ".join(_describe(e) for e in exc.errors) or "Invalid request"
        refusal = LukhasError(
            message,
            # OpenAI answers malformed requests with 400; the ops API keeps
            # 422 for "understood but not valid".
            status=400 if self.openai_envelope else 422,
            code="invalid_value" if self.openai_envelope else "validation_error",
            param=field_path(first.get("loc", ())) or None,
        )
        return self.render(request, refusal, errors=errors)

    def _on_http_error(self, request: HttpRequest, exc: HttpError) -> HttpResponse:
        status = exc.status_code
        if isinstance(exc, AuthenticationError) or status == 401:
            refusal: LukhasError = AuthenticationFailed(
                "Missing or invalid API key. Send it as 'Authorization: Bearer <key>'."
            )
        elif isinstance(exc, AuthorizationError) or status == 403:
            refusal = PermissionDenied(str(exc.message) or "Forbidden")
        elif status >= 500:
            refusal = ServerError(str(exc.message), status=status)
        else:
            refusal = LukhasError(str(exc.message), status=status)
        return self.render(request, refusal)

    def _on_bad_multipart(self, request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
        """A multipart body Django cannot split (no boundary, truncated): the client's fault."""
        refusal = InvalidRequest(
            f"The multipart/form-data body cannot be read ({exc}); send it with its boundary "
            "in the Content-Type header, as curl -F or a browser form does.",
            code="invalid_multipart",
        )
        return self.render(request, refusal)

    def _on_404(self, request: HttpRequest, exc: Http404) -> HttpResponse:
        return self.render(request, NotFound(str(exc) or "Not found"))

    def _on_crash(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        # No database connection to spare: a temporary 503, not a crash.
        if reason := exhaustion_reason(exc):
            return unavailable_response(request, reason)
        logger.exception("unhandled error in %s %s", request.method, request.path)
        return self.render(request, server_error(request))

    def not_found_view(self, request: HttpRequest, rest: str = "") -> HttpResponse:
        """Unknown routes under the root get the root's JSON 404, never Django's HTML."""
        return self.render(
            request,
            NotFound(
                f"Unknown route {request.method} {request.path}. "
                f"See {self.root_path}docs for the operations this API offers.",
                code="unknown_route",
            ),
        )

    root_path: str = "/"

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Ninja's document, plus every error status each operation can answer."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        declare_error_responses(schema, self.envelope)
        return schema

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        """Ninja's root view raises an HTML 404 outside DEBUG; ours answers in JSON."""
        patterns = [p for p in super()._get_urls() if getattr(p, "name", None) != "api-root"]
        patterns.append(path("", self.not_found_view, name="api-root"))
        return patterns


# What each error status means, for the OpenAPI document; the bodies are the
# envelope of the root (lukhas_site.errors.error_body).
ERROR_DESCRIPTIONS = {
    "400": "Malformed request: bad JSON, a wrong type or a missing field (named in `param`).",
    "401": "Missing or invalid API key (`Authorization: Bearer lk-...`).",
    "403": "The key or user lacks the scope, or a Guardian policy refused it.",
    "404": "No such object named in the path, body or query (or not visible to this caller).",
    "409": "An earlier request with this Idempotency-Key is still in flight.",
    "413": "The body is larger than the documented limit (`request_too_large`).",
    "422": "Understood but refused: a rule, a validation or a reused Idempotency-Key.",
    "429": "Rate limit or quota reached; `retry-after` says when to retry.",
    "500": "The server failed; quote the request id when reporting it.",
    "503": "A backing service is unavailable (database pool, broker); retry after `Retry-After`.",
}
BODY_METHODS = {"post", "put", "patch"}


def _error_schema(envelope: Envelope) -> dict[str, Any]:
    nullable = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    if envelope == "openai":
        inner = {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": nullable,
                "code": nullable,
            },
        }
    else:
        inner = {
            "type": "object",
            "required": ["code", "message", "param"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "param": nullable,
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"param": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
                "details": {"type": "object"},
            },
        }
    return {
        "type": "object",
        "title": "Error",
        "required": ["error"],
        "properties": {"error": inner},
    }


def declare_error_responses(schema: dict[str, Any], envelope: Envelope) -> None:
    """Add the error answers to every operation of ``schema`` (in place).

    Every operation is authenticated, limited and may fail (401, 403, 429,
    500, 503); one with parameters can be malformed (400, and 422 on the ops
    root, which keeps 422 for validation); a path, body or query can name
    nothing (404); a body can be too large (413) and, on POST, carry an
    Idempotency-Key that is in flight (409) or reused (422).
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = _error_schema(envelope)
    ref = {"$ref": "#/components/schemas/Error"}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            # 404 everywhere: a path, a body or a query can name an object
            # (a model, an index, a task) that does not exist.
            statuses = {"400", "401", "403", "404", "429", "500", "503"}
            if envelope == "ops":
                statuses.add("422")
            if method in BODY_METHODS:
                statuses |= {"413", "422"}
            if method == "post":
                statuses.add("409")
            responses = operation["responses"]
            for status in sorted(statuses):
                # Ninja keys its own responses by int; the JSON document by string.
                if status in responses or int(status) in responses:
                    continue
                responses.setdefault(
                    int(status),
                    {
                        "description": ERROR_DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": ref}},
                    },
                )


class OpenAIAPI(LukhasAPI):
    openai_envelope = True


# Docs and schemas describe the whole surface: for signed-in users, and for
# bearer keys with the root's read scope (SDK generators fetch openapi.json).
api = LukhasAPI(
    title="LUKHAS Ops API",
    version="1.0.0",
    description="Operations API of LUKHAS Ops: coordination, soak runs, health reports.",
    urls_namespace="api",
    docs_decorator=docs_access("ops:read"),
    auth=ops_auth,
)
api.root_path = "/api/"

v1 = OpenAIAPI(
    title="LUKHAS OpenAI-compatible API",
    version="1.0.0",
    description="OpenAI wire format in front of the MATRIZ cognitive pipeline.",
    urls_namespace="v1",
    docs_decorator=docs_access("models:read"),
    auth=v1_auth,
)
v1.root_path = "/v1/"

api.add_router("/guardian/", "guardian.api.router", tags=["guardian"])
api.add_router("/coordination/", "coordination.api.router", tags=["coordination"])
api.add_router("/jobs/", "jobs.api.router", tags=["jobs"])
api.add_router("/audits/", "audits.api.router", tags=["audits"])
api.add_router("/soak/", "soak.api.router", tags=["soak"])
v1.add_router("", "matriz.facade.api.router", tags=["openai"])

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

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from guardian.auth import ops_auth, v1_auth
from lukhas_site.errors import (
    AuthenticationFailed,
    Envelope,
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

    def _on_404(self, request: HttpRequest, exc: Http404) -> HttpResponse:
        return self.render(request, NotFound(str(exc) or "Not found"))

    def _on_crash(self, request: HttpRequest, exc: Exception) -> HttpResponse:
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

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        """Ninja's root view raises an HTML 404 outside DEBUG; ours answers in JSON."""
        patterns = [p for p in super()._get_urls() if getattr(p, "name", None) != "api-root"]
        patterns.append(path("", self.not_found_view, name="api-root"))
        return patterns


class OpenAIAPI(LukhasAPI):
    openai_envelope = True


# Docs and schemas describe the whole surface; they are for signed-in users.
api = LukhasAPI(
    title="LUKHAS Ops API",
    version="1.0.0",
    description="Operations API of LUKHAS Ops: coordination, soak runs, health reports.",
    urls_namespace="api",
    docs_decorator=login_required,
    auth=ops_auth,
)
api.root_path = "/api/"

v1 = OpenAIAPI(
    title="LUKHAS OpenAI-compatible API",
    version="1.0.0",
    description="OpenAI wire format in front of the MATRIZ cognitive pipeline.",
    urls_namespace="v1",
    docs_decorator=login_required,
    auth=v1_auth,
)
v1.root_path = "/v1/"

api.add_router("/guardian/", "guardian.api.router", tags=["guardian"])
api.add_router("/coordination/", "coordination.api.router", tags=["coordination"])
api.add_router("/jobs/", "jobs.api.router", tags=["jobs"])
v1.add_router("", "matriz.facade.api.router", tags=["openai"])

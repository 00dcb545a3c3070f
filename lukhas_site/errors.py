"""One exception hierarchy for the whole site, and the one function that renders it.

Services raise these; :func:`render_error` is the only code that turns one
into JSON: the OpenAI envelope ``{"error": {"message", "type", "param",
"code"}}`` under ``/v1/``, the ops envelope ``{"error": {"code", "message",
"param", "errors"}}`` everywhere else. API roots, middlewares and JSON views
all call it, so a refusal looks the same however a request arrives.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, JsonResponse

Envelope = Literal["openai", "ops"]

OPENAI_PREFIX = "/v1/"


class LukhasError(Exception):
    """A refusal a caller can act on: a status, a stable code and a message."""

    status: int = 400
    code: str = "invalid_request"
    # The OpenAI ``type`` field; the SDK picks its exception class from the
    # status, and clients branch on type/code.
    openai_type: str = "invalid_request_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        details: dict | None = None,
        openai_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if openai_type is not None:
            self.openai_type = openai_type
        if status is not None:
            self.status = status
        self.param = param
        self.headers = headers or {}
        self.details = details or {}


class InvalidRequest(LukhasError):
    status = 400
    code = "invalid_request"


class AuthenticationFailed(LukhasError):
    status = 401
    code = "invalid_api_key"


class PermissionDenied(LukhasError):
    status = 403
    code = "insufficient_permissions"
    openai_type = "permission_error"


class NotFound(LukhasError):
    status = 404
    code = "not_found"


class Conflict(LukhasError):
    status = 409
    code = "conflict"


class Unprocessable(LukhasError):
    status = 422
    code = "unprocessable"


class RuleViolation(Unprocessable):
    """A business rule refused the change (e.g. a transition that is not allowed)."""

    code = "rule_violation"


class RequestTooLarge(LukhasError):
    status = 413
    code = "request_too_large"


class RateLimited(LukhasError):
    status = 429
    code = "rate_limit_exceeded"
    openai_type = "requests"


class QuotaExhausted(RateLimited):
    """The daily quota is spent: OpenAI's ``insufficient_quota``; retrying will not help."""

    code = "insufficient_quota"
    openai_type = "insufficient_quota"


class ServiceUnavailable(LukhasError):
    status = 503
    code = "service_unavailable"
    openai_type = "server_error"


class ServerError(LukhasError):
    status = 500
    code = "server_error"
    openai_type = "server_error"


def envelope_for(path: str) -> Envelope:
    """The envelope a path answers in: the OpenAI one under ``/v1/``, ours elsewhere."""
    return "openai" if path == OPENAI_PREFIX[:-1] or path.startswith(OPENAI_PREFIX) else "ops"


def error_body(
    exc: LukhasError,
    envelope: Envelope,
    *,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The JSON document for ``exc`` in ``envelope`` (no HTTP; ASGI code uses it too)."""
    if envelope == "openai":
        body: dict[str, Any] = {
            "message": exc.message,
            "type": exc.openai_type,
            "param": exc.param,
            "code": exc.code,
        }
    else:
        body = {"code": exc.code, "message": exc.message, "param": exc.param}
        if errors:
            body["errors"] = errors
        if exc.details:
            body["details"] = exc.details
    return {"error": body}


def render_error(
    request: HttpRequest | None,
    exc: LukhasError,
    *,
    envelope: Envelope | None = None,
    errors: list[dict[str, str]] | None = None,
) -> JsonResponse:
    """The one place a site exception becomes an HTTP answer (status, body and headers)."""
    if envelope is None:
        envelope = envelope_for(request.path if request is not None else "")
    response = JsonResponse(error_body(exc, envelope, errors=errors), status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def server_error(request: HttpRequest | None) -> ServerError:
    """The 500 a client sees: no detail, only the request id to quote."""
    request_id = getattr(request, "request_id", "-") if request is not None else "-"
    return ServerError(
        "The server had an error while processing your request. "
        f"Quote request id {request_id} when reporting it."
    )

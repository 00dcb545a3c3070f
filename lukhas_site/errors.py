"""One exception hierarchy for the whole site, raised by services.

Each API root maps these once: ``/v1`` into the OpenAI error envelope, ``/api``
into the ops shape, pages into a message. Services never build HTTP responses.
"""

from __future__ import annotations


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
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
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


class RateLimited(LukhasError):
    status = 429
    code = "rate_limit_exceeded"
    openai_type = "requests"


class ServiceUnavailable(LukhasError):
    status = 503
    code = "service_unavailable"
    openai_type = "server_error"

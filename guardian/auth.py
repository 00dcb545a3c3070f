"""The ninja auth objects of the two API roots, and bearer-key authentication.

``ops_auth`` (the ``/api`` root) accepts a bearer API key or a dashboard
session (CSRF-checked for unsafe methods); ``v1_auth`` (the ``/v1`` root)
accepts bearer keys only. Both put a :class:`~guardian.principals.Principal`
in ``request.auth``.

``GuardianMiddleware`` authenticates bearer keys before the view (the rate
limiter must know the key); these auth objects then reuse its principal, so a
key costs one lookup per request. Without the middleware (a bare NinjaAPI in
a test) they look the key up themselves.

This module sits above services (it records denials and touches keys); the
Principal itself lives in guardian.principals so that selectors and
services never import this one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from guardian import keys, selectors, services
from guardian.models import DenialKind
from guardian.permissions import require_scope
from guardian.principals import Principal, key_principal, user_principal
from lukhas_site.errors import AuthenticationFailed, LukhasError, PermissionDenied, render_error

# Other apps name the caller's type as guardian.auth.Principal.
__all__ = [
    "Principal",
    "authenticate_token",
    "docs_access",
    "key_principal",
    "ops_auth",
    "user_principal",
    "v1_auth",
]

# Where the middleware leaves the principal (and the failure) for the auth objects.
PRINCIPAL_ATTR = "_guardian_principal"
AUTH_ERROR_ATTR = "_guardian_auth_error"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def authenticate_token(token: str, request: HttpRequest | None = None) -> Principal:
    """The principal of a bearer token, or AuthenticationFailed saying why not."""
    parsed = keys.parse_key(token)
    api_key = selectors.api_key_for_token(parsed) if parsed else None
    if api_key is None:
        services.denial_record(
            kind=DenialKind.AUTHENTICATION,
            reason="invalid_api_key",
            key_prefix=parsed.prefix if parsed else "",
            request=request,
        )
        raise AuthenticationFailed(
            "Incorrect API key provided. Keys are issued in the LUKHAS Ops admin; "
            "send one as 'Authorization: Bearer lk-...'."
        )
    refusal = None
    if api_key.revoked:
        refusal = ("revoked", "This API key has been revoked.")
    elif api_key.is_expired():
        refusal = ("expired", "This API key has expired.")
    elif not api_key.tenant.is_active:
        refusal = ("tenant_inactive", f"Tenant {api_key.tenant.slug!r} is not active.")
    if refusal is not None:
        services.denial_record(
            kind=DenialKind.AUTHENTICATION,
            reason=refusal[0],
            api_key=api_key,
            request=request,
        )
        raise AuthenticationFailed(refusal[1])
    services.api_key_touch(key=api_key)
    return key_principal(api_key)


def principal_from_bearer(request: HttpRequest) -> Principal | None:
    """The bearer-key principal of a request (None: no bearer header); raises if bad.

    Reuses what GuardianMiddleware found, so the key is looked up once.
    """
    principal = getattr(request, PRINCIPAL_ATTR, None)
    if principal is not None:
        return principal
    error = getattr(request, AUTH_ERROR_ATTR, None)
    if error is not None:
        raise error
    token = keys.bearer_token(request.headers.get("Authorization"))
    if token is None:
        return None
    try:
        principal = authenticate_token(token, request)
    except AuthenticationFailed as exc:
        setattr(request, AUTH_ERROR_ATTR, exc)
        raise
    setattr(request, PRINCIPAL_ATTR, principal)
    return principal


def principal_from_session(request: HttpRequest) -> Principal | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    # A session is ambient authority: a form on another site could use it.
    unsafe = request.method in _UNSAFE_METHODS
    if unsafe and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
        raise PermissionDenied(
            "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie "
            "(or use an API key).",
            code="csrf_failed",
        )
    return user_principal(user)


class V1Auth(HttpBearer):
    """``/v1``: bearer API keys only, as the OpenAI SDK sends them."""

    def __call__(self, request: HttpRequest) -> Principal | None:
        return principal_from_bearer(request)

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        return authenticate_token(token, request)


class OpsAuth(HttpBearer):
    """``/api``: a bearer API key, or else a dashboard session."""

    def __call__(self, request: HttpRequest) -> Principal | None:
        principal = principal_from_bearer(request)
        if principal is not None:
            return principal
        return principal_from_session(request)

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        return authenticate_token(token, request)


v1_auth = V1Auth()
ops_auth = OpsAuth()


def docs_access(scope: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """The OpenAPI document and docs page of a root: a signed-in user, or a key with ``scope``.

    Code generators and SDK tooling fetch ``openapi.json`` with the same
    bearer key they call the API with; people read ``/docs`` signed in. No
    credentials at all sends a browser to the login page, as before.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_active:
                return view(request, *args, **kwargs)
            if keys.bearer_token(request.headers.get("Authorization")) is None:
                return redirect_to_login(request.get_full_path())
            try:
                request.auth = principal_from_bearer(request)
                require_scope(request, scope)
            except LukhasError as exc:
                return render_error(request, exc)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate

"""Who is calling: the Principal, and the ninja auth objects of the two API roots.

``ops_auth`` (the ``/api`` root) accepts a bearer API key or a dashboard
session (CSRF-checked for unsafe methods); ``v1_auth`` (the ``/v1`` root)
accepts bearer keys only. Both put a :class:`Principal` in ``request.auth``.

``GuardianMiddleware`` authenticates bearer keys before the view (the rate
limiter must know the key); these auth objects then reuse its principal, so a
key costs one lookup per request. Without the middleware (a bare NinjaAPI in
a test) they look the key up themselves.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from guardian import keys, selectors
from guardian.models import ALL_SCOPES, APIKey, DenialKind, Tenant
from lukhas_site.errors import AuthenticationFailed, PermissionDenied

READ_SCOPES = frozenset(s for s in ALL_SCOPES if s.endswith(":read"))
WRITE_SCOPES = ALL_SCOPES - READ_SCOPES

# Where the middleware leaves the principal (and the failure) for the auth objects.
PRINCIPAL_ATTR = "_guardian_principal"
AUTH_ERROR_ATTR = "_guardian_auth_error"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(slots=True)
class Principal:
    """The caller of one request, as every app's operations see it in ``request.auth``."""

    kind: str  # "user" | "api_key"
    user: Any = None
    api_key: APIKey | None = None
    tenant: Tenant | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_api_key(self) -> bool:
        return self.kind == "api_key"

    @property
    def label(self) -> str:
        """A name safe for logs and audit rows (the public prefix, never the secret)."""
        if self.api_key is not None:
            return self.api_key.prefix
        return getattr(self.user, "username", "?")

    @property
    def scope_id(self) -> str:
        """What idempotency keys and usage are scoped to."""
        if self.api_key is not None:
            return f"k{self.api_key.pk}"
        return f"u{getattr(self.user, 'pk', 0)}"


def user_principal(user: Any) -> Principal:
    """A dashboard user: read scopes when active, write scopes too when staff."""
    scopes = READ_SCOPES | WRITE_SCOPES if user.is_staff else READ_SCOPES
    return Principal(kind="user", user=user, scopes=frozenset(scopes))


def key_principal(api_key: APIKey) -> Principal:
    return Principal(
        kind="api_key",
        api_key=api_key,
        tenant=api_key.tenant,
        scopes=api_key.scope_set & ALL_SCOPES,
    )


# --- key lookup with a short per-process cache ---------------------------------
#
# A request must not cost a database round trip just to learn that its key is
# the same as a second ago. Entries live GUARDIAN_KEY_CACHE_SECONDS; revoking
# a key drops it here at once (this process) and elsewhere within that time.

_cache_lock = threading.Lock()
_key_cache: dict[str, tuple[float, APIKey]] = {}
_KEY_CACHE_MAX = 10_000
# Intervals, not dates: a monotonic clock (tests replace it to move time on).
clock = time.monotonic


def forget_key(api_key: APIKey) -> None:
    with _cache_lock:
        _key_cache.pop(api_key.key_hash, None)


def forget_all_keys() -> None:
    with _cache_lock:
        _key_cache.clear()


def _lookup(parsed: keys.ParsedKey) -> APIKey | None:
    digest = keys.hash_key(parsed.plaintext)
    ttl = settings.GUARDIAN_KEY_CACHE_SECONDS
    now = clock()
    if ttl > 0:
        hit = _key_cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
    api_key = selectors.api_key_by_public_id(parsed.public_id)
    if api_key is None or not keys.hashes_match(api_key.key_hash, digest):
        return None
    if ttl > 0:
        with _cache_lock:
            if len(_key_cache) >= _KEY_CACHE_MAX:
                _key_cache.clear()
            _key_cache[digest] = (now + ttl, api_key)
    return api_key


def authenticate_token(token: str, request: HttpRequest | None = None) -> Principal:
    """The principal of a bearer token, or AuthenticationFailed saying why not."""
    from guardian import services

    parsed = keys.parse_key(token)
    api_key = _lookup(parsed) if parsed else None
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

"""Single sign-on with OpenID Connect, on mozilla-django-oidc.

mozilla-django-oidc is an authentication backend and two views, not an
account system: it fits a site whose accounts are Django's and whose
configuration is environment variables only. What we add: the provider's
endpoints come from its discovery document (so the only address to
configure is the issuer), the ID token's issuer, audience and expiry are
checked, the allowed domains/groups decide who may enter, and the group
map gives the user their Django groups and permissions.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import services
from lukhas_site.errors import ServiceUnavailable

log = logging.getLogger("lukhas.accounts")

# A discovery document is fetched once per process and kept this long.
METADATA_TTL_SECONDS = 3600.0
REQUIRED_METADATA = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")

_metadata_lock = threading.Lock()
_metadata: dict[str, tuple[float, dict[str, Any]]] = {}


class ProviderUnavailable(ServiceUnavailable):
    code = "identity_provider_unavailable"


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def provider_metadata() -> dict[str, Any]:
    """The issuer's discovery document (cached); ProviderUnavailable when it cannot be had."""
    issuer = settings.OIDC_ISSUER
    now = time.monotonic()
    with _metadata_lock:
        cached = _metadata.get(issuer)
        if cached and now - cached[0] < METADATA_TTL_SECONDS:
            return cached[1]
    url = discovery_url(issuer)
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(
            f"The identity provider cannot be reached ({url}: {exc.__class__.__name__})."
        ) from exc
    missing = [key for key in REQUIRED_METADATA if not document.get(key)]
    if document.get("issuer", "").rstrip("/") != issuer.rstrip("/") or missing:
        raise ProviderUnavailable(
            f"{url} does not describe issuer {issuer} (issuer {document.get('issuer')!r}, "
            f"missing {', '.join(missing) or 'nothing'})."
        )
    with _metadata_lock:
        _metadata[issuer] = (now, document)
    return document


def forget_provider_metadata() -> None:
    """Drop the cached documents (a test's provider moved to another port)."""
    with _metadata_lock:
        _metadata.clear()


class SignInBackend(OIDCAuthenticationBackend):
    """The OIDC code flow against LUKHAS_OIDC_ISSUER, creating users on first sign-in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds a backend per authenticate() and per request's get_user():
        # read nothing over the network here (the parent reads endpoint settings).
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:  # the parent's attribute names, read lazily
        return provider_metadata()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_metadata()["userinfo_endpoint"]

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_metadata()["jwks_uri"]

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if request is None or not settings.OIDC_ENABLED:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The parent checks the signature and nonce; the ID token's iss, aud and exp, here."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER.rstrip("/"):
            raise SuspiciousOperation("ID token from another issuer")
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token for another client")
        if not isinstance(payload.get("exp"), int | float) or payload["exp"] < time.time():
            raise SuspiciousOperation("ID token expired")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        refusal = services.sso_refusal(claims=claims)
        if refusal is None:
            return True
        log.warning("single sign-on refused", extra={"reason": refusal})
        if getattr(self, "request", None) is not None:
            messages.error(self.request, refusal)
        return False

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        """Matched by username (the e-mail address): an e-mail never takes over a local account."""
        username = services.sso_username(claims)
        if not username:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(username__iexact=username)

    def create_user(self, claims: dict[str, Any]) -> Any:
        return services.sso_user_sign_in(claims=claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        return services.sso_user_sign_in(claims=claims)


def _unavailable(request: HttpRequest, exc: ProviderUnavailable) -> HttpResponse:
    return render(
        request,
        "accounts/provider_unavailable.html",
        {"message": exc.message, "provider_name": settings.OIDC_PROVIDER_NAME},
        status=exc.status,
    )


class SignInRequestView(OIDCAuthenticationRequestView):
    """Redirects the browser to the provider (404 while single sign-on is off)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        View.__init__(self, *args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:
        return provider_metadata()["authorization_endpoint"]

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except ProviderUnavailable as exc:
            return _unavailable(request, exc)


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back; a provider outage is a page, not a 500."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not settings.OIDC_ENABLED:
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except ProviderUnavailable as exc:
            return _unavailable(request, exc)
        except requests.RequestException as exc:
            log.warning("single sign-on token exchange failed", extra={"error": str(exc)[:500]})
            return _unavailable(
                request,
                ProviderUnavailable(
                    "The identity provider did not complete the sign-in "
                    f"({exc.__class__.__name__}). Try again."
                ),
            )

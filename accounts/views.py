"""Pages of sign-in: the login page, the lockout answer, the user's own page."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts import selectors, services
from lukhas_site.errors import RateLimited, render_error

PASSWORD_OFF = "Password sign-in is turned off on this site: use {provider} instead."  # noqa: S105


def _sign_in_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "password_login": settings.ACCOUNTS_PASSWORD_LOGIN,
        "sso_enabled": settings.OIDC_ENABLED,
        "sso_name": settings.OIDC_PROVIDER_NAME,
        "signed_out_reason": request.session.pop(services.SESSION_SIGNED_OUT_REASON, None),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }


class SignInView(auth_views.LoginView):
    """Django's login view, plus single sign-on and "password sign-in is off"."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), **_sign_in_context(self.request)}

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.ACCOUNTS_PASSWORD_LOGIN:
            messages.error(request, PASSWORD_OFF.format(provider=settings.OIDC_PROVIDER_NAME))
            return redirect(request.path)
        return super().post(request, *args, **kwargs)


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's own login form, or the site's login page when only single sign-on is on."""
    if settings.ACCOUNTS_PASSWORD_LOGIN:
        return admin.site.login(request)
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('login')}?{urlencode({'next': target})}")


def _wants_json(request: HttpRequest) -> bool:
    if request.headers.get("x-requested-with") == "XMLHttpRequest":
        return True
    if request.content_type == "application/json":
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: a 429 with Retry-After, as a page or as the ops JSON error."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    minutes = max(1, round(seconds / 60))
    limit = get_failure_limit(request, credentials)
    message = (
        f"Too many failed sign-in attempts ({limit}) for this account or from this address. "
        f"Sign-in is refused for {minutes} minute{'s' if minutes != 1 else ''}; every further "
        "attempt restarts that wait. An administrator can lift the lockout sooner."
    )
    headers = {"Retry-After": str(seconds)} if seconds else {}
    if _wants_json(request):
        return render_error(request, RateLimited(message, code="login_locked_out", headers=headers))
    response = render(
        request,
        "accounts/locked_out.html",
        {"message": message, "minutes": minutes, "login_url": reverse("login")},
        status=RateLimited.status,
    )
    for name, value in headers.items():
        response[name] = value
    return response


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own page: who they are, their sessions, their API keys."""
    user = request.user
    username = user.get_username()
    context = {
        "groups": list(user.groups.order_by("name").values_list("name", flat=True)),
        "sessions": list(selectors.sessions_of(user)),
        "current_session_key": request.session.session_key,
        "api_keys": list(selectors.api_keys_created_by(user)),
        "sign_ins": list(selectors.recent_sign_ins(username)),
        "failures": list(selectors.recent_failures(username)),
        "nav_active": "account",
        "now": timezone.now(),
    }
    return render(request, "accounts/account.html", context)


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    ended = services.sessions_sign_out_everywhere(user=request.user)
    logout(request)
    messages.success(
        request,
        f"Signed out everywhere: {ended} session{'s' if ended != 1 else ''} ended. "
        "API keys are not affected; revoke them in the admin.",
    )
    return redirect("login")

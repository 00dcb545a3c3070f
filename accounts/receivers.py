"""Django's auth signals, wired to the metric and the session records (AccountsConfig.ready).

django-axes listens to the same signals and writes the audit rows; these
receivers are connected after it (accounts comes after axes in
INSTALLED_APPS), so a failure already knows whether it locked the client out.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from accounts import services
from accounts.backends import REFUSED_MARK
from accounts.metrics import login_attempts_total


def on_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    login_attempts_total.labels(outcome="success").inc()
    if request is not None and hasattr(request, "session"):
        services.session_record(request=request, user=user)


def on_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    refused = request is not None and getattr(request, REFUSED_MARK, False)
    login_attempts_total.labels(outcome="locked_out" if refused else "failure").inc()


def on_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        services.session_forget(session_key=request.session.session_key)


def connect() -> None:
    user_logged_in.connect(on_logged_in, dispatch_uid="accounts.logged_in")
    user_login_failed.connect(on_login_failed, dispatch_uid="accounts.login_failed")
    user_logged_out.connect(on_logged_out, dispatch_uid="accounts.logged_out")

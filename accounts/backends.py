"""The lockout backend: django-axes' standalone backend, marking the requests it refuses.

Django sends ``user_login_failed`` both for a wrong password and for an
attempt axes refused before looking at the password; the mark lets the
metric tell the two apart (``failure`` vs ``locked_out``).
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.http import HttpRequest

REFUSED_MARK = "accounts_refused_locked_out"


class LockoutBackend(AxesStandaloneBackend):
    """First in AUTHENTICATION_BACKENDS: refuses a locked-out username or address."""

    def authenticate(
        self,
        request: HttpRequest,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            setattr(request, REFUSED_MARK, True)
            raise

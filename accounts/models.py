"""What sign-in keeps besides django-axes' own rows: the sessions a user has open.

The login audit itself is axes' ``AccessLog`` (successes), ``AccessFailureLog``
(failures and lockouts) and ``AccessAttempt`` (the live counters an admin
deletes to unlock). Sessions are recorded here because no session engine
can list "every session of this user", which "sign out everywhere" needs.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SignInMethod(models.TextChoices):
    PASSWORD = "password", "password"
    SSO = "sso", "single sign-on"


class UserSession(models.Model):
    """One signed-in browser session of a user (its key, from where, since when)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signed_in_sessions"
    )
    session_key = models.CharField(max_length=40, unique=True)
    method = models.CharField(
        max_length=16, choices=SignInMethod.choices, default=SignInMethod.PASSWORD
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "signed-in session"
        ordering = ["-created_at"]
        indexes = [
            # The user's own page lists their sessions, newest first.
            models.Index(fields=["user", "-created_at"], name="accounts_session_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M} from {self.ip_address or '?'}"

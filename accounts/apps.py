"""Sign-in: lockout, login audit, single sign-on (OIDC) and session lifetimes."""

from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Sign-in"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django's auth signals and system checks are wired at start-up, here.
        from accounts import checks, receivers

        receivers.connect()
        checks.register()

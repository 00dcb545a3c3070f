"""API keys, tenants, scopes, policy decisions, rate limits and idempotency."""

from __future__ import annotations

from django.apps import AppConfig


class GuardianConfig(AppConfig):
    name = "guardian"
    verbose_name = "Guardian"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: they read models and settings, which
        # Django allows only once the app registry is ready.
        from guardian import checks
        from lukhas_site import health

        checks.register()
        health.register_check(
            "guardian",
            checks.readiness,
            description="Guardian policy loaded (name, mode, kill switch)",
        )

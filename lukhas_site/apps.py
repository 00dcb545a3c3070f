"""The site's own app: readiness checks, tracing, system checks, demo data."""

from __future__ import annotations

from django.apps import AppConfig


class LukhasSiteConfig(AppConfig):
    name = "lukhas_site"
    verbose_name = "LUKHAS site"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lukhas_site import checks, health, tracing

        health.register_builtin_checks()
        checks.register()
        tracing.instrument()

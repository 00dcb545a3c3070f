"""Codebase health reports, quality gates and findings."""

from __future__ import annotations

from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: the checks read settings and config files once apps load.
        from audits import checks

        checks.register()

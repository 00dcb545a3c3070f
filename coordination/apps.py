"""Tasks, agents, tracks, review gates and plan import for release coordinators."""

from __future__ import annotations

from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Coordination"
    default_auto_field = "django.db.models.BigAutoField"

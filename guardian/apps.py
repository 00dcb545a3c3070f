"""API keys, tenants, scopes, policy decisions, rate limits and idempotency."""

from __future__ import annotations

from django.apps import AppConfig


class GuardianConfig(AppConfig):
    name = "guardian"
    verbose_name = "Guardian"
    default_auto_field = "django.db.models.BigAutoField"

"""The MATRIZ cognitive pipeline: engine, plugins, memory, and the /v1 façade."""

from __future__ import annotations

from django.apps import AppConfig


class MatrizConfig(AppConfig):
    name = "matriz"
    verbose_name = "MATRIZ"
    default_auto_field = "django.db.models.BigAutoField"

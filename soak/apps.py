"""Release-candidate soak runs, snapshots and GA gates."""

from __future__ import annotations

from django.apps import AppConfig


class SoakConfig(AppConfig):
    name = "soak"
    verbose_name = "RC soak"
    default_auto_field = "django.db.models.BigAutoField"

"""Release-candidate soak runs, snapshots and GA gates."""

from __future__ import annotations

from django.apps import AppConfig


class SoakConfig(AppConfig):
    name = "soak"
    verbose_name = "RC soak"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring, so the imports are here: the soak gauges are read from the
        # database at each /metrics scrape, by whichever process serves it.
        from lukhas_site.metrics import register_scrape_collector
        from soak.metrics import SoakCollector

        register_scrape_collector(SoakCollector())

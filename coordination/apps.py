"""Tasks, agents, tracks, review gates and plan import for release coordinators."""

from __future__ import annotations

from django.apps import AppConfig


class CoordinationConfig(AppConfig):
    name = "coordination"
    verbose_name = "Coordination"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Wiring, so the imports are here: the board gauges are read from the
        # database at each /metrics scrape, by whichever process serves it.
        from coordination.metrics import CoordinationCollector
        from lukhas_site.metrics import register_scrape_collector

        register_scrape_collector(CoordinationCollector())

        # Imported here, not at the top: the demo loader imports the models and the
        # services, which Django allows only once the app registry is ready.
        from coordination.demo import load_demo_plans
        from lukhas_site.demo import register_demo_loader

        register_demo_loader(
            "coordination-plans",
            load_demo_plans,
            description="the shared LUKHAS plans as tasks, agents and a first snapshot",
        )

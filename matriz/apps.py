"""The MATRIZ cognitive pipeline: engine, plugins, memory, dreams, and the /v1 façade."""

from __future__ import annotations

from django.apps import AppConfig


class MatrizConfig(AppConfig):
    name = "matriz"
    verbose_name = "MATRIZ"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here, not at the top: apps.py loads before the app registry
        # is ready, and these modules import models (Django's AppConfig rule).
        from jobs.signals import job_finished
        from lukhas_site.demo import register_demo_loader
        from lukhas_site.health import register_check
        from matriz import checks, metrics  # noqa: F401 - metrics: the collectors exist from boot
        from matriz.demo import load_demo_memories
        from matriz.runtime import discover_plugins
        from matriz.services import dream_mirror_job_end, response_mirror_job_end

        # At boot, in every process (web, worker, beat): the registry is what
        # /system/plugins and the pipeline read. A broken plugin is recorded, not raised.
        discover_plugins()
        checks.register()
        # A dream's job that ends without its step (the sweeper gave up, a person
        # cancelled it) fails the dream too, in the same transaction.
        job_finished.connect(dream_mirror_job_end, dispatch_uid="matriz.dream_mirror_job_end")
        # Likewise a background response's job (docs/facade.md, "Background responses").
        job_finished.connect(response_mirror_job_end, dispatch_uid="matriz.response_mirror_job_end")
        register_check(
            "matriz",
            checks.readiness,
            description="every required MATRIZ stage has a node; broken plugins listed",
        )
        register_demo_loader(
            "matriz-memory",
            load_demo_memories,
            description="a memory index built from the shared plans, for the page and /v1",
        )

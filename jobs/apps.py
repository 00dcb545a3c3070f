"""Jobs and flows: durable multi-step work on Celery, with its state in the database."""

from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django wiring, so the imports are here: every process (web, worker,
        # beat) loads the declared flows at boot, and jobs.tasks turns each
        # step into its Celery task, which is how a worker knows them.
        from jobs import flows, metrics, tasks  # noqa: F401 - metrics: collectors exist from boot

        flows.load_flow_modules()
        tasks.register_step_tasks()

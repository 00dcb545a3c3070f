"""The one Celery app of the site (settings under the ``CELERY_`` namespace).

Embedded mode uses kombu's filesystem transport (no server); with
``REDIS_URL`` Redis is broker and result backend. Task metrics and the
request id that caused a task are handled here, by signals, for every task.
"""

from __future__ import annotations

import os
import time

from celery import Celery, signals
from django.conf import settings

from lukhas_site import metrics
from lukhas_site.context import current_request_id, new_request_id, request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lukhas_site.settings")

app = Celery("lukhas_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "lukhas_request_id"


@signals.setup_logging.connect
def _use_django_logging(**kwargs: object) -> None:
    """Keep our JSON logging: Celery must not install its own handlers."""
    settings.LOGGING_CONFIG  # noqa: B018 - importing settings configures logging


@signals.before_task_publish.connect
def _propagate_request_id(headers: dict | None = None, **kwargs: object) -> None:
    request_id = current_request_id()
    if headers is not None and request_id and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id


_started: dict[str, tuple[float, object]] = {}


@signals.task_prerun.connect
def _task_started(task_id: str, task: object, **kwargs: object) -> None:
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or new_request_id()
    token = request_id_var.set(request_id)
    _started[task_id] = (time.perf_counter(), token)


@signals.task_postrun.connect
def _task_finished(task_id: str, task: object, state: str | None = None, **kwargs: object) -> None:
    started, token = _started.pop(task_id, (None, None))
    if started is not None:
        metrics.celery_task_duration_seconds.labels(task.name).observe(
            time.perf_counter() - started
        )
    metrics.celery_tasks_total.labels(task.name, (state or "UNKNOWN").lower()).inc()
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # reset in another context (eager tasks in threads)
            request_id_var.set(None)


@signals.task_failure.connect
def _task_failed(
    sender: object = None, exception: BaseException | None = None, **kw: object
) -> None:
    name = getattr(sender, "name", "unknown")
    metrics.celery_task_failures_total.labels(name, type(exception).__name__).inc()


@signals.worker_process_shutdown.connect
def _worker_child_exit(pid: int | None = None, **kwargs: object) -> None:
    metrics.mark_process_dead(pid or os.getpid())

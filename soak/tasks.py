"""Celery tasks of the soak app: thin, named, idempotent; the work is in services."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import httpx
from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache

from lukhas_site.errors import Conflict
from soak import selectors, services

log = logging.getLogger(__name__)

SENTINEL_LOCK = "soak:sentinel-lock"
NOTIFY_RETRIES = 5


@shared_task(
    name="soak.sentinel",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def sentinel() -> dict[str, Any]:
    """Beat's round over the running soaks (single flight: a lock in the shared cache).

    Two overlapping beats (a slow snapshot, two beat processes) would measure
    the same interval twice; the lock's TTL is the task's time limit, so a
    worker that died holding it frees it.
    """
    token = secrets.token_hex(8)
    if not cache.add(SENTINEL_LOCK, token, timeout=settings.CELERY_TASK_TIME_LIMIT):
        return {"skipped": "another sentinel round is running"}
    try:
        return {"runs": services.sentinel_tick()}
    finally:
        if cache.get(SENTINEL_LOCK) == token:
            cache.delete(SENTINEL_LOCK)


@shared_task(
    name="soak.snapshot",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def snapshot(run_id: int, by_label: str = "task") -> dict[str, Any]:
    """A snapshot now (the page's "snapshot now"); a finished run is a skip."""
    run = selectors.run_by_pk(run_id)
    try:
        taken = services.snapshot_take(run=run, by_label=by_label)
    except Conflict as exc:
        return {"run": run_id, "skipped": exc.code}
    return {"run": run_id, "snapshot": taken.pk, "complete": taken.complete}


@shared_task(
    bind=True,
    name="soak.notify",
    acks_late=True,
    max_retries=NOTIFY_RETRIES,
    time_limit=60,
    soft_time_limit=45,
)
def notify(self: Task, event: str, body: dict[str, Any]) -> dict[str, Any]:
    """Deliver one signed webhook; retried with back-off (2, 4, 8 … s) on failure."""
    try:
        status = services.webhook_deliver(event=event, body=body)
    except httpx.HTTPError as exc:
        if self.request.retries >= NOTIFY_RETRIES:
            services.notification_outcome(event=event, outcome="failed")
            log.error("soak %s webhook failed after %s tries: %s", event, NOTIFY_RETRIES + 1, exc)
            return {"event": event, "outcome": "failed", "error": str(exc)}
        services.notification_outcome(event=event, outcome="retry")
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
    services.notification_outcome(event=event, outcome="sent")
    return {"event": event, "outcome": "sent", "status": status}

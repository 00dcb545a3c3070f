"""Site-wide background tasks: the heartbeat that proves worker and beat run."""

from __future__ import annotations

import os
import time

from celery import shared_task
from django.core.cache import cache

from lukhas_site.context import current_request_id

HEARTBEAT_CACHE_KEY = "lukhas:heartbeat"


@shared_task(name="lukhas.heartbeat", acks_late=True, time_limit=30, soft_time_limit=25)
def heartbeat() -> float:
    """Scheduled by beat; /readyz reads the time it wrote (shared cache)."""
    now = time.time()
    cache.set(HEARTBEAT_CACHE_KEY, now, timeout=None)
    return now


@shared_task(name="lukhas.echo", acks_late=True, time_limit=30, soft_time_limit=25)
def echo(value: str) -> dict:
    """A task that returns what it was given and who ran it: the round-trip probe."""
    return {"value": value, "pid": os.getpid(), "request_id": current_request_id()}

"""Celery tasks of MATRIZ: thin, named, idempotent; the work is in services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from lukhas_site.errors import Conflict, NotFound
from matriz import selectors, services


@shared_task(
    name="matriz.run_dream",
    acks_late=True,
    ignore_result=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def run_dream(dream_id: int) -> dict[str, Any]:
    """Run a queued dream. Safe to deliver twice: the service claims the row atomically."""
    dream = services.dream_run(dream_id=dream_id)
    if dream is None:
        return {"dream": dream_id, "ran": False}
    return {"dream": dream.public_id, "ran": True, "status": dream.status}


@shared_task(
    name="matriz.sweep_dreams",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def sweep_dreams() -> dict[str, list[int]]:
    """Beat's stale-claim sweep: re-queue dreams whose worker died, publish the unpublished."""
    report = services.dreams_sweep()
    return {
        "requeued": report.requeued,
        "failed": report.failed,
        "published": report.published,
        "publish_failed": report.publish_failed,
    }


@shared_task(
    name="matriz.fold_index",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def fold_index(index_id: int | None = None, trigger: str = "schedule") -> dict[str, Any]:
    """Fold one index (write trigger) or, without an id, every index due (beat's round).

    Single flight per index (a lock in the shared cache); a fold already
    running, or an index deleted meanwhile, is a skip, not a failure.
    """
    if index_id is None:
        records = services.fold_due(trigger=trigger)
        return {"folded": [record.index_id for record in records]}
    index = selectors.index_by_pk(pk=index_id)
    if index is None:
        return {"index": index_id, "skipped": "deleted"}
    try:
        record = services.fold_index(index=index, trigger=trigger)
    except (Conflict, NotFound) as exc:
        return {"index": index_id, "skipped": exc.code}
    return {
        "index": index_id,
        "fold": record.pk,
        "before": record.before_count,
        "after": record.after_count,
    }

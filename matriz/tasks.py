"""Celery tasks of MATRIZ: thin, named, idempotent; the work is in services.py."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from lukhas_site.errors import Conflict, NotFound


@shared_task(
    name="matriz.run_dream",
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def run_dream(dream_id: int) -> dict[str, Any]:
    """Run a queued dream. Safe to deliver twice: the service claims the row atomically."""
    from matriz.services import dream_run

    dream = dream_run(dream_id=dream_id)
    if dream is None:
        return {"dream": dream_id, "ran": False}
    return {"dream": dream.public_id, "ran": True, "status": dream.status}


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
    from matriz.models import MemoryIndexModel
    from matriz.services import fold_due
    from matriz.services import fold_index as fold

    if index_id is None:
        records = fold_due(trigger=trigger)
        return {"folded": [record.index_id for record in records]}
    index = MemoryIndexModel.objects.filter(pk=index_id).first()
    if index is None:
        return {"index": index_id, "skipped": "deleted"}
    try:
        record = fold(index=index, trigger=trigger)
    except (Conflict, NotFound) as exc:
        return {"index": index_id, "skipped": exc.code}
    return {
        "index": index_id,
        "fold": record.pk,
        "before": record.before_count,
        "after": record.after_count,
    }

"""Celery tasks of MATRIZ: thin, named, idempotent; the work is in services.

Dreams have no task here: they run as jobs (matriz/flows.py), as the task
``jobs.dream.dream``.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings

from lukhas_site.errors import Conflict, NotFound
from matriz import selectors, services


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

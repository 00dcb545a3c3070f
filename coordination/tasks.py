"""Celery tasks of the coordination app: thin, idempotent, named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from coordination.exports import export_bundle
from coordination.services import snapshot_take


def snapshot_slot(now: datetime, times: list[tuple[int, int]]) -> str:
    """The scheduled time ``now`` belongs to: the latest configured time at or before it.

    Beat runs at 08:00, a worker may run the task at 08:03 or run it twice (acks_late
    redelivery): both find the slot ``2025-10-15T08:00Z`` and take one snapshot.
    """
    now = now.astimezone(UTC)
    candidates = [
        day.replace(hour=hour, minute=minute, second=0, microsecond=0)
        for day in (now, now - timedelta(days=1))
        for hour, minute in times
    ]
    slot = max(c for c in candidates if c <= now)
    return slot.strftime("%Y-%m-%dT%H:%MZ")


@shared_task(
    name="coordination.take_snapshot",
    acks_late=True,
    time_limit=300,
    soft_time_limit=270,
)
def take_snapshot(slot: str | None = None, write_files: bool = True) -> dict:
    """Beat's three-times-a-day snapshot; the exports land in COORDINATION_EXPORT_DIR."""
    slot = slot or snapshot_slot(timezone.now(), settings.COORDINATION_SNAPSHOT_TIMES)
    snapshot, created = snapshot_take(slot=slot)
    written = []
    if write_files:
        # Written again on a redelivery too: the files of one snapshot are the same.
        bundle = export_bundle(snapshot=snapshot)
        written = [str(p) for p in bundle.write(settings.COORDINATION_EXPORT_DIR)]
    return {"snapshot": snapshot.pk, "slot": slot, "created": created, "files": written}

"""Snapshots of the board's totals, taken on a schedule or by hand."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from coordination.models import Snapshot
from coordination.selectors import snapshot_compute

# --------------------------------------------------------------------------- snapshots


def snapshot_take(*, slot: str | None = None, now: datetime | None = None) -> tuple[Snapshot, bool]:
    """Save the board's totals now. With ``slot``, a second call for it returns the first."""
    if slot:
        existing = Snapshot.objects.filter(slot=slot).first()
        if existing is not None:
            return existing, False
    snapshot = snapshot_compute(now=now or timezone.now())
    snapshot.slot = slot or None
    try:
        with transaction.atomic():
            snapshot.save()
    except IntegrityError:
        # Two runs for one slot raced (two beats, a redelivery): the first one won.
        return Snapshot.objects.get(slot=slot), False
    return snapshot, True

"""Folding: near-duplicates into one survivor, single flight per index."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from lukhas_site.errors import Conflict, InvalidRequest, NotFound
from matriz import metrics, runtime
from matriz.engine import MemoryIndex
from matriz.engine import fold_index as engine_fold_index
from matriz.models import (
    FoldRecord,
    FoldTrigger,
    MemoryIndexModel,
    MemoryItemModel,
)
from matriz.services.common import (
    BULK,
    after_commit_counts,
    lock_index,
)

log = logging.getLogger(__name__)

# Optimistic attempts before giving up on an index that keeps being written to.
_FOLD_ATTEMPTS = 3


def fold_lock_key(index: MemoryIndexModel) -> str:
    """The shared-cache key of an index's fold lock (per incarnation: the public id)."""
    return f"matriz:fold-lock:{index.public_id}"


@contextmanager
def _fold_lock(index: MemoryIndexModel) -> Iterator[None]:
    """Single flight per index across every worker: a lock in the shared cache, with a TTL.

    cache.add is SET NX on Redis and an insert-if-absent on the database
    cache. The TTL frees the lock of a worker that died mid-fold. Correctness
    does not rest on it (the fold re-checks the version under the row lock);
    it saves two workers from doing the same work.
    """
    key = fold_lock_key(index)
    token = secrets.token_hex(8)
    if not cache.add(key, token, timeout=settings.MATRIZ_FOLD_LOCK_SECONDS):
        raise Conflict(
            f"memory index {index.key!r} is being folded right now; its result will show "
            "in the fold records shortly",
            code="fold_in_progress",
        )
    try:
        yield
    finally:
        if cache.get(key) == token:
            cache.delete(key)


def fold_index(
    *,
    index: MemoryIndexModel,
    trigger: str = FoldTrigger.MANUAL,
    threshold: float | None = None,
) -> FoldRecord:
    """Fold near-duplicate memories of ``index`` (cosine >= threshold) into one survivor each.

    Idempotent: a second run finds nothing to absorb and changes no item (it
    still records the run and purges old tombstones). Conflict while another
    fold of the same index runs.
    """
    if threshold is None:
        # Cosines of a model are not hashing's: MiniLM puts "stopped on Monday" and
        # "stopped on Tuesday" at 0.991, so its indexes fold only at a stricter bar.
        threshold = (
            settings.MATRIZ_FOLD_THRESHOLD
            if index.embedder == "hashing"
            else settings.MATRIZ_FOLD_THRESHOLD_MODEL
        )
    threshold = float(threshold)
    if not 0 < threshold <= 1:
        raise InvalidRequest("threshold is a cosine in (0, 1]", param="threshold")
    if trigger not in FoldTrigger.values:
        raise InvalidRequest(f"unknown fold trigger {trigger!r}", param="trigger")
    started = time.perf_counter()
    with _fold_lock(index):
        for _ in range(_FOLD_ATTEMPTS):
            record = _fold_once(index.pk, trigger=trigger, threshold=threshold, started=started)
            if record is not None:
                return record
    raise Conflict(
        f"memory index {index.key!r} kept changing while it was being folded; "
        "the next folding round will try again",
        code="fold_raced",
    )


def _fold_once(pk: int, *, trigger: str, threshold: float, started: float) -> FoldRecord | None:
    """One optimistic attempt: fold a snapshot, write it if the index did not move meanwhile."""
    snapshot = MemoryIndexModel.objects.filter(pk=pk).values_list("version", "dimension").first()
    if snapshot is None:
        raise NotFound("this memory index was deleted", code="index_not_found")
    snapshot_version, dimension = snapshot
    rows = list(
        MemoryItemModel.objects.filter(
            index_id=pk, folded_into__isnull=True, deleted_at__isnull=True
        )
        .order_by("pk")
        .values_list("pk", "public_id", "metadata", "vector", "text")
    )
    pk_of = {public_id: row_pk for row_pk, public_id, *_ in rows}
    before_meta = {public_id: metadata or {} for _, public_id, metadata, _, _ in rows}
    scratch = MemoryIndex(
        f"fold-{pk}", dim=dimension, initial_capacity=max(1, len(rows)), track_metrics=False
    )
    if rows:
        scratch.add_vectors(
            [r[1] for r in rows],
            runtime.stored_matrix([r[3] for r in rows], dimension),
            texts=[r[4] for r in rows],
            metadata=[r[2] or {} for r in rows],
        )
    report = engine_fold_index(scratch, threshold=threshold)
    survivors = set(scratch.ids())
    absorbed_ids = [public_id for public_id in pk_of if public_id not in survivors]
    changed: dict[str, dict[str, Any]] = {}
    absorbed: dict[str, str] = {}
    pending = set(absorbed_ids)
    for public_id in survivors:
        metadata = dict(scratch.get(public_id).metadata)
        if metadata == before_meta[public_id]:
            continue
        changed[public_id] = metadata
        earlier = len(before_meta[public_id].get("folded_ids", []))
        for folded in metadata.get("folded_ids", [])[earlier:]:
            if folded in pending:
                absorbed[folded] = public_id
    if set(absorbed) != pending:  # the engine's invariant, checked before anything is written
        raise RuntimeError(f"fold lost track of {sorted(pending - set(absorbed))[:5]}")

    with transaction.atomic():
        locked = lock_index(pk)
        if locked.version != snapshot_version:
            return None  # written to meanwhile: fold again from a fresh snapshot
        now = timezone.now()
        purged, purged_version = _purge_tombstones(locked, now)
        new_version = locked.version + 1 if absorbed else locked.version
        MemoryItemModel.objects.bulk_update(
            [
                MemoryItemModel(pk=pk_of[pid], metadata=meta, version=new_version, updated_at=now)
                for pid, meta in changed.items()
            ],
            ["metadata", "version", "updated_at"],
            batch_size=BULK,
        )
        MemoryItemModel.objects.bulk_update(
            [
                MemoryItemModel(
                    pk=pk_of[pid],
                    folded_into_id=pk_of[survivor],
                    version=new_version,
                    updated_at=now,
                )
                for pid, survivor in absorbed.items()
            ],
            ["folded_into", "version", "updated_at"],
            batch_size=BULK,
        )
        # Rows folded into an item absorbed now follow it to its survivor, so
        # folded_into always names a live memory (one hop, never a chain).
        survivor_of = {pk_of[pid]: pk_of[survivor] for pid, survivor in absorbed.items()}
        moved = list(survivor_of)
        for start in range(0, len(moved), BULK):
            followers = MemoryItemModel.objects.filter(
                folded_into_id__in=moved[start : start + BULK]
            ).values_list("pk", "folded_into_id")
            MemoryItemModel.objects.bulk_update(
                [
                    MemoryItemModel(pk=f_pk, folded_into_id=survivor_of[into], updated_at=now)
                    for f_pk, into in followers
                ],
                ["folded_into", "updated_at"],
                batch_size=BULK,
            )
        locked.version = new_version
        locked.purged_version = max(locked.purged_version, purged_version)
        locked.item_count = len(survivors)
        locked.writes_since_fold = 0
        locked.items_after_last_fold = len(survivors)
        locked.last_folded_at = now
        locked.save(
            update_fields=[
                "version", "purged_version", "item_count", "writes_since_fold",
                "items_after_last_fold", "last_folded_at", "updated_at",
            ]
        )  # fmt: skip
        duration = time.perf_counter() - started
        record = FoldRecord.objects.create(
            index=locked,
            trigger=trigger,
            threshold=threshold,
            before_count=report.before,
            after_count=report.after,
            groups=report.groups,
            absorbed=absorbed,
            tombstones_purged=purged,
            version=new_version,
            duration_ms=round(duration * 1000.0, 3),
        )
        after_commit_counts(locked)
        key, at, count = locked.key, now.timestamp(), len(absorbed)

        def _observe() -> None:
            metrics.LAST_FOLD.labels(index=key).set(at)
            metrics.FOLD_ABSORBED.inc(count)
            metrics.FOLD_DURATION.labels(trigger).observe(duration)

        transaction.on_commit(_observe)
    log.info(
        "fold of %s (%s): %d -> %d items, %d absorbed, %d tombstones purged, %.1f ms",
        record.index.key, trigger, record.before_count, record.after_count,
        len(absorbed), purged, record.duration_ms,
    )  # fmt: skip
    return record


def _purge_tombstones(index: MemoryIndexModel, now: Any) -> tuple[int, int]:
    """Hard-delete tombstones older than the TTL; (count, highest version purged)."""
    old = MemoryItemModel.objects.filter(
        index=index,
        deleted_at__isnull=False,
        deleted_at__lt=now - timedelta(seconds=settings.MATRIZ_TOMBSTONE_TTL_SECONDS),
    )
    highest = old.aggregate(v=Max("version"))["v"]
    if highest is None:
        return 0, 0
    count, _ = old.delete()
    return count, highest


def fold_due(*, trigger: str = FoldTrigger.SCHEDULE) -> list[FoldRecord]:
    """Beat's round: fold every index written to since its last fold (busy ones are skipped)."""
    records = []
    for index in MemoryIndexModel.objects.filter(writes_since_fold__gt=0).order_by("pk"):
        try:
            records.append(fold_index(index=index, trigger=trigger))
        except (Conflict, NotFound) as exc:
            log.info("fold of %s skipped: %s", index.key, exc.message)
    return records

"""Items: add (embed, upsert) and delete (tombstones)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from lukhas_site.errors import Conflict, InvalidRequest, NotFound
from matriz import runtime
from matriz.models import (
    VECTOR_DTYPE,
    FoldTrigger,
    MemoryIndexModel,
    MemoryItemModel,
)
from matriz.services.common import (
    BULK,
    ITEM_ID_PATTERN,
    after_commit_counts,
    check_metadata,
    lock_index,
)

log = logging.getLogger(__name__)

FOLD_TASK = "matriz.fold_index"


def _publish_fold(index_pk: int, trigger: str) -> None:
    """Ask a worker to fold, once, without retries: a broker that is down must not stall a write."""
    current_app.send_task(FOLD_TASK, args=[index_pk, trigger], retry=False, ignore_result=True)


def _normalised_items(items: Any) -> list[tuple[str | None, str, dict[str, Any]]]:
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise InvalidRequest("items must be a list of {text, metadata?, id?}", param="items")
    if not items:
        raise InvalidRequest("items is empty: give at least one memory", param="items")
    limit = settings.MATRIZ_MAX_BATCH
    if len(items) > limit:
        raise InvalidRequest(
            f"{len(items)} items in one call; the limit is {limit} (LUKHAS_MATRIZ_MAX_BATCH): "
            "send them in several batches",
            param="items",
        )
    batch, seen = [], set()
    for position, item in enumerate(items):
        where = f"items[{position}]"
        if not isinstance(item, Mapping):
            raise InvalidRequest(f"{where} must be an object with a text", param=where)
        unknown = sorted(set(item) - {"id", "text", "metadata"})
        if unknown:
            raise InvalidRequest(
                f"{where} has unknown field(s) {', '.join(unknown)}; use id, text, metadata",
                param=where,
            )
        text = runtime.check_text(item.get("text"), param=f"{where}.text")
        metadata = check_metadata(item.get("metadata"), param=f"{where}.metadata")
        item_id = item.get("id")
        if item_id is not None:
            if not isinstance(item_id, str) or not ITEM_ID_PATTERN.fullmatch(item_id):
                raise InvalidRequest(
                    f"{where}.id {item_id!r} is not valid: 1-64 letters, digits and . _ : -",
                    param=f"{where}.id",
                )
            if item_id in seen:
                raise InvalidRequest(
                    f"{where}.id {item_id!r} appears twice in this batch", param=f"{where}.id"
                )
            seen.add(item_id)
        batch.append((item_id, text, metadata))
    return batch


@dataclass(slots=True)
class ItemsWritten:
    """What ``items_add`` did: the rows (in the order given) and what changed."""

    items: list[MemoryItemModel]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    version: int = 0
    fold_scheduled: str | None = None
    ids: list[str] = field(default_factory=list)


def items_add(*, index: MemoryIndexModel, items: Sequence[Mapping[str, Any]]) -> ItemsWritten:
    """Add memories (``{"text", "metadata"?, "id"?}``) to ``index``, embedded by its embedder.

    An item whose ``id`` exists is replaced (the same text and metadata again
    change nothing); a deleted id comes back to life; an id that was folded
    into another memory is refused (Conflict: it lives on in its survivor).
    Bumps the index version once for the whole batch and schedules a fold
    every LUKHAS_MATRIZ_FOLD_EVERY_N_WRITES writes.
    """
    batch = _normalised_items(items)
    # Embedding is CPU work: done before the transaction, so the index stays locked briefly.
    embedder = runtime.embedder_for(index.embedder, index.dimension)
    vectors = runtime.normalised(embedder.embed([text for _, text, _ in batch]))
    blobs = [row.astype(VECTOR_DTYPE).tobytes() for row in vectors]
    with transaction.atomic():
        locked = lock_index(index.pk)
        new_version = locked.version + 1
        wanted = [item_id for item_id, _, _ in batch if item_id]
        existing = {
            row.public_id: row
            for row in MemoryItemModel.objects.filter(index=locked, public_id__in=wanted)
        }
        now = timezone.now()
        result: list[MemoryItemModel] = []
        to_create: list[MemoryItemModel] = []
        to_update: list[MemoryItemModel] = []
        revived = 0
        for (item_id, text, metadata), blob in zip(batch, blobs, strict=True):
            row = existing.get(item_id) if item_id else None
            if row is None:
                row = MemoryItemModel(
                    index=locked, text=text, metadata=metadata, vector=blob, version=new_version
                )
                if item_id:
                    row.public_id = item_id
                to_create.append(row)
            elif row.folded_into_id is not None:
                survivor = (
                    MemoryItemModel.objects.filter(pk=row.folded_into_id)
                    .values_list("public_id", flat=True)
                    .first()
                )
                raise Conflict(
                    f"memory {item_id!r} was folded into {survivor!r}: it lives on there. "
                    "Delete it first to write a new memory under this id",
                    code="memory_folded",
                    param="items",
                )
            elif (
                row.deleted_at is None
                and row.text == text
                and row.metadata == metadata
                and bytes(row.vector) == blob
            ):
                result.append(row)
                continue
            else:
                revived += row.deleted_at is not None
                row.text, row.metadata, row.vector = text, metadata, blob
                row.version, row.deleted_at, row.updated_at = new_version, None, now
                to_update.append(row)
            result.append(row)
        written = ItemsWritten(
            items=result,
            unchanged=len(result) - len(to_create) - len(to_update),
            version=locked.version,
        )
        if not to_create and not to_update:
            written.ids = [row.public_id for row in result]
            return written
        MemoryItemModel.objects.bulk_create(to_create, batch_size=BULK)
        MemoryItemModel.objects.bulk_update(
            to_update, ["text", "metadata", "vector", "version", "deleted_at", "updated_at"],
            batch_size=BULK,
        )  # fmt: skip
        writes = len(to_create) + len(to_update)
        trigger = _fold_trigger(locked, writes, growth=len(to_create) + revived)
        locked.version = new_version
        locked.item_count += len(to_create) + revived
        locked.writes_since_fold += writes
        locked.save(update_fields=["version", "item_count", "writes_since_fold", "updated_at"])
        after_commit_counts(locked)
        if trigger is not None and cache.add(
            f"matriz:fold-requested:{locked.public_id}", 1, timeout=60
        ):  # one request per minute and index, however many writes cross the line
            # robust: a fold that could not be requested is only late (beat's round folds it).
            pk = locked.pk
            transaction.on_commit(lambda: _publish_fold(pk, trigger), robust=True)
        written.created, written.updated = len(to_create), len(to_update)
        written.version, written.fold_scheduled = new_version, trigger
        written.ids = [row.public_id for row in result]
    index.version, index.item_count = locked.version, locked.item_count
    return written


def _fold_trigger(index: MemoryIndexModel, writes: int, *, growth: int) -> str | None:
    every = settings.MATRIZ_FOLD_EVERY_N_WRITES
    before = index.writes_since_fold
    if every > 0 and before // every != (before + writes) // every:
        return FoldTrigger.WRITES
    limit = settings.MATRIZ_FOLD_MAX_ITEMS
    size = index.item_count + growth
    if limit > 0 and size > limit:
        last = index.items_after_last_fold
        # Above the limit with nothing left to fold, wait for 10 % growth before folding again.
        if last is None or size >= last * 1.1:
            return FoldTrigger.SIZE
    return None


def items_delete(*, index: MemoryIndexModel, ids: Sequence[str]) -> int:
    """Delete memories by id; returns how many live memories went. Unknown ids: NotFound.

    Deleting an id deleted before is not an error (a retried call). Deleting a
    survivor deletes what was folded into it; deleting an absorbed id takes it
    (and its text) out of its survivor's fold history.
    """
    if isinstance(ids, str) or not isinstance(ids, Sequence) or not ids:
        raise InvalidRequest("ids must be a non-empty list of memory ids", param="ids")
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > settings.MATRIZ_MAX_BATCH:
        raise InvalidRequest(
            f"{len(wanted)} ids in one call; the limit is {settings.MATRIZ_MAX_BATCH}",
            param="ids",
        )
    with transaction.atomic():
        locked = lock_index(index.pk)
        rows = {
            row.public_id: row
            for row in MemoryItemModel.objects.filter(index=locked, public_id__in=wanted).defer(
                "vector"
            )
        }
        unknown = [i for i in wanted if i not in rows]
        if unknown:
            shown = ", ".join(repr(i) for i in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise NotFound(
                f"no memory {shown}{more} in index {locked.key!r}: nothing was deleted",
                code="memory_not_found",
                param="ids",
            )
        targets = [row for row in rows.values() if row.deleted_at is None]
        if not targets:
            return 0
        new_version = locked.version + 1
        now = timezone.now()
        doomed_pks = {row.pk for row in targets}
        live_removed = sum(row.folded_into_id is None for row in targets)
        # What was folded into a deleted survivor goes with it.
        followers = MemoryItemModel.objects.filter(
            index=locked, folded_into_id__in=[r.pk for r in targets if r.folded_into_id is None]
        ).values_list("pk", flat=True)
        doomed_pks.update(followers)
        # An absorbed id deleted on its own leaves its survivor's fold history.
        by_survivor: dict[int, set[str]] = {}
        for row in targets:
            if row.folded_into_id is not None and row.folded_into_id not in doomed_pks:
                by_survivor.setdefault(row.folded_into_id, set()).add(row.public_id)
        survivors = []
        for survivor in MemoryItemModel.objects.filter(pk__in=list(by_survivor)).defer("vector"):
            survivor.metadata = _without_folded(survivor.metadata, by_survivor[survivor.pk])
            survivor.version, survivor.updated_at = new_version, now
            survivors.append(survivor)
        MemoryItemModel.objects.bulk_update(
            survivors, ["metadata", "version", "updated_at"], batch_size=BULK
        )
        doomed = sorted(doomed_pks)
        for start in range(0, len(doomed), BULK):
            MemoryItemModel.objects.filter(pk__in=doomed[start : start + BULK]).update(
                text="",
                metadata={},
                vector=b"",
                folded_into=None,
                deleted_at=now,
                version=new_version,
                updated_at=now,
            )
        locked.version = new_version
        locked.item_count = max(0, locked.item_count - live_removed)
        locked.writes_since_fold += len(targets)
        locked.save(update_fields=["version", "item_count", "writes_since_fold", "updated_at"])
        after_commit_counts(locked)
    index.version, index.item_count = locked.version, locked.item_count
    return live_removed


def _without_folded(metadata: Mapping[str, Any], ids: set[str]) -> dict[str, Any]:
    """Drop ``ids`` from ``folded_ids`` and the texts at the same positions of ``folded_texts``.

    The engine appends both lists in step (an id, then its text), so positions match.
    """
    folded_ids = list(metadata.get("folded_ids", []))
    folded_texts = list(metadata.get("folded_texts", []))
    keep = [i for i, fid in enumerate(folded_ids) if fid not in ids]
    out = dict(metadata)
    out["folded_ids"] = [folded_ids[i] for i in keep]
    if len(folded_texts) == len(folded_ids):
        out["folded_texts"] = [folded_texts[i] for i in keep]
    return out

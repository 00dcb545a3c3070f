"""Indexes: create and delete."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lukhas_site.errors import Conflict, InvalidRequest
from matriz import metrics, runtime
from matriz.models import (
    Dream,
    DreamStatus,
    MemoryIndexModel,
)
from matriz.services.common import (
    after_commit_counts,
    check_metadata,
    check_name,
    check_owner,
    lock_index,
)

log = logging.getLogger(__name__)


def index_create(
    *,
    owner: str,
    name: str,
    embedder: str | None = None,
    dimension: int | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> MemoryIndexModel:
    """A new, empty index of ``owner``; Conflict if the owner already has that name."""
    check_owner(owner)
    check_name(name)
    embedder = embedder or settings.MATRIZ_EMBEDDER
    dimension = runtime.native_dimension(embedder) if dimension is None else dimension
    if isinstance(dimension, bool) or not isinstance(dimension, int) or not 8 <= dimension <= 4096:
        raise InvalidRequest("dimension must be an integer from 8 to 4096", param="dimension")
    runtime.embedder_for(embedder, dimension)  # refuses an embedder this site cannot run
    checked = check_metadata(metadata, param="metadata")
    try:
        with transaction.atomic():
            index = MemoryIndexModel.objects.create(
                owner=owner, name=name, embedder=embedder, dimension=dimension, metadata=checked
            )
    except IntegrityError:
        raise Conflict(
            f"owner {owner!r} already has a memory index named {name!r}: "
            "add items to it, or delete it first",
            code="index_exists",
            param="name",
        ) from None
    after_commit_counts(index)
    log.info("memory index %s created (%s, %d-d)", index.key, embedder, dimension)
    return index


def index_delete(*, index: MemoryIndexModel) -> None:
    """Delete an index with its items and fold records; its dreams keep their results."""
    key = index.key
    with transaction.atomic():
        locked = lock_index(index.pk)
        # Queued dreams of this index could only fail later: fail them now, saying why.
        now = timezone.now()
        Dream.objects.filter(index=locked, status=DreamStatus.QUEUED).update(
            status=DreamStatus.FAILED,
            error=f"memory index {key!r} was deleted before the dream ran",
            finished_at=now,
            updated_at=now,
        )
        locked.delete()
        transaction.on_commit(lambda: metrics.STORED_ITEMS.labels(index=key).set(0))
        transaction.on_commit(lambda: runtime.get_runtime().forget(key))
    log.info("memory index %s deleted", key)

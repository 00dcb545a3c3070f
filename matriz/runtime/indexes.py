"""The indexes a process holds in memory, kept in step with the database by version.

Each loaded index is an engine ``MemoryIndex`` (one float32 matrix) plus the
database version it reflects. ``IndexCache.sync`` runs before every query:
one SELECT reads the stamps of the indexes named (it also resolves
``owner/name``, which the query needs anyway); an index whose stamp moved
catches up by applying the rows stamped above the version held — upserts for
live rows, removals for folded and deleted ones. A full load happens on first
use, when the index was re-created (another public id), when its version went
backwards (a restored database), or when tombstones a delta would need were
purged (``purged_version``). The stamp comes from the database, not a cache
key: it is the record, so no crash between a commit and a cache write can
leave a process believing it is current. A per-index lock makes threads that
find the same index stale load it once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection

from lukhas_site.errors import NotFound, ServiceUnavailable
from matriz import metrics
from matriz.engine import MemoryIndex, RecallHit
from matriz.models import VECTOR_DTYPE, MemoryIndexModel, MemoryItemModel
from matriz.runtime.embedders import embedder_for

log = logging.getLogger(__name__)

_VERSION_COLUMNS = ("id", "public_id", "name", "version", "purged_version", "embedder", "dimension")


@dataclass(slots=True)
class LoadedIndex:
    """An index as this process holds it, and the database version it reflects."""

    key: str
    pk: int
    public_id: str
    version: int
    index: MemoryIndex
    loaded_at: float = field(default_factory=time.time)


class IndexCache:
    def __init__(self) -> None:
        self._loaded: dict[str, LoadedIndex] = {}
        self._key_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> LoadedIndex:
        try:
            return self._loaded[key]
        except KeyError:
            raise NotFound(f"memory index {key!r} is not loaded in this process") from None

    def all(self) -> list[LoadedIndex]:
        return sorted(self._loaded.values(), key=lambda entry: entry.key)

    def forget(self, key: str) -> None:
        with self._lock:
            if self._loaded.pop(key, None) is not None:
                metrics.MEMORY_ITEMS.labels(index=key).set(0)

    def sync(self, owner: str, names: Sequence[str]) -> list[str]:
        """Bring ``owner``'s indexes ``names`` up to date; their keys (``owner/name``), in order.

        One query when nothing changed; a delta or a full load for an index that moved.
        """
        rows = {row[2]: row for row in version_rows(owner, names)}
        missing = [name for name in names if name not in rows]
        if missing:
            for name in missing:
                self.forget(f"{owner}/{name}")
            raise NotFound(
                f"no memory index named {', '.join(repr(n) for n in missing)} for owner "
                f"{owner!r}: create it first (POST /v1/indexes) or check the name",
                param="indexes",
                code="index_not_found",
            )
        keys = []
        for name in names:
            pk, public_id, _, version, purged, embedder, dimension = rows[name]
            key = f"{owner}/{name}"
            self._ensure_current(key, pk, public_id, version, purged, embedder, dimension)
            keys.append(key)
        return keys

    def _ensure_current(
        self,
        key: str,
        pk: int,
        public_id: str,
        version: int,
        purged_version: int,
        embedder: str,
        dimension: int,
    ) -> None:
        entry = self._loaded.get(key)
        if entry is not None and entry.public_id == public_id and entry.version == version:
            metrics.INDEX_SYNC_TOTAL.labels("current").inc()
            return
        with self._key_lock(key):
            entry = self._loaded.get(key)  # another thread may have caught up meanwhile
            if entry is not None and entry.public_id == public_id and entry.version == version:
                metrics.INDEX_SYNC_TOTAL.labels("current").inc()
                return
            started = time.perf_counter()
            if (
                entry is None
                or entry.public_id != public_id
                or entry.version > version
                or entry.version < purged_version
            ):
                outcome = "full"
                fresh = _load_full(key, pk, embedder, dimension)
                with self._lock:
                    self._loaded[key] = LoadedIndex(key, pk, public_id, version, fresh)
            else:
                outcome = "delta"
                _apply_delta(entry, version)
            elapsed = time.perf_counter() - started
            metrics.INDEX_SYNC_TOTAL.labels(outcome).inc()
            metrics.INDEX_SYNC_DURATION.labels(outcome).observe(elapsed)
            log.debug("index %s %s-synced to v%d in %.1f ms", key, outcome, version, elapsed * 1e3)

    def _key_lock(self, key: str) -> threading.Lock:
        lock = self._key_locks.get(key)
        if lock is None:
            with self._lock:
                lock = self._key_locks.setdefault(key, threading.Lock())
        return lock


def _load_full(key: str, pk: int, embedder: str, dimension: int) -> MemoryIndex:
    rows = (
        MemoryItemModel.objects.filter(
            index_id=pk, folded_into__isnull=True, deleted_at__isnull=True
        )
        .order_by("pk")
        .values_list("public_id", "text", "metadata", "vector")
    )
    ids, texts, metas, blobs = [], [], [], []
    for public_id, text, metadata, vector in rows.iterator(chunk_size=2000):
        ids.append(public_id)
        texts.append(text)
        metas.append(metadata or {})
        blobs.append(vector)
    index = MemoryIndex(
        key,
        dim=dimension,
        embedder=embedder_for(embedder, dimension),
        initial_capacity=max(1024, int(len(ids) * 1.25)),
    )
    if ids:
        index.add_vectors(ids, stored_matrix(blobs, dimension), texts=texts, metadata=metas)
    else:
        metrics.MEMORY_ITEMS.labels(index=key).set(0)
    index.writes_since_fold = 0
    return index


def _apply_delta(entry: LoadedIndex, version: int) -> None:
    rows = (
        MemoryItemModel.objects.filter(index_id=entry.pk, version__gt=entry.version)
        .order_by("version", "pk")
        .values_list("public_id", "text", "metadata", "vector", "folded_into_id", "deleted_at")
    )
    upserts: dict[str, tuple[str, dict, Any]] = {}
    removals: set[str] = set()
    for public_id, text, metadata, vector, folded_into, deleted_at in rows.iterator(
        chunk_size=2000
    ):
        if folded_into is None and deleted_at is None:
            upserts[public_id] = (text, metadata or {}, vector)
            removals.discard(public_id)
        else:
            removals.add(public_id)
            upserts.pop(public_id, None)
    index = entry.index
    with index.locked():  # a recall sees the index before or after the delta, not between
        if removals:
            index.delete(removals)
        if upserts:
            ids = list(upserts)
            index.add_vectors(
                ids,
                stored_matrix([upserts[i][2] for i in ids], index.dim),
                texts=[upserts[i][0] for i in ids],
                metadata=[upserts[i][1] for i in ids],
            )
        entry.version = version
        entry.loaded_at = time.time()


def version_rows(owner: str, names: Sequence[str]) -> list[tuple]:
    """The version check: one SELECT by (owner, name), served by their unique index.

    Written as SQL on purpose: it runs before every query, and the ORM spends
    about 1 ms building and compiling it on the reference machine, where the
    statement itself takes ~40 µs (docs/benchmarks.md). Table and column names
    come from the model and values go as driver parameters, so it stays
    portable and nothing from the caller reaches the SQL text.
    """
    meta = MemoryIndexModel._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(c).column) for c in _VERSION_COLUMNS)
    owner_column, name_column = meta.get_field("owner").column, meta.get_field("name").column
    placeholders = ", ".join(["%s"] * len(names))
    sql = (
        f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608 - identifiers from _meta
        f"WHERE {quote(owner_column)} = %s AND {quote(name_column)} IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [owner, *names])
        return cursor.fetchall()


def stored_matrix(blobs: Sequence[Any], dimension: int) -> np.ndarray:
    """Stored vector bytes to an (n, dimension) float32 matrix, in one copy."""
    flat = np.frombuffer(b"".join(blobs), dtype=VECTOR_DTYPE)
    if flat.size != len(blobs) * dimension:
        raise ServiceUnavailable(
            f"stored vectors do not have {dimension} values each: the index is corrupt"
        )
    return flat.reshape(len(blobs), dimension).astype(np.float32, copy=False)


class RuntimeStoreView:
    """What the memory node sees as its store: recall over one or several loaded indexes.

    The node passes the query's index as a string; the runtime makes it the
    comma-joined keys of the indexes the query names, and this view merges
    their hits by score.
    """

    def __init__(self, cache: IndexCache) -> None:
        self._cache = cache

    def recall(
        self,
        index: str,
        query: str | np.ndarray,
        k: int = 10,
        *,
        filters: Mapping[str, Any] | None = None,
        min_score: float | None = None,
    ) -> list[RecallHit]:
        loaded = [self._cache.get(key) for key in index.split(",") if key]
        if len(loaded) == 1:
            return loaded[0].index.recall(query, k, filters=filters, min_score=min_score)
        # Several indexes: embed once per embedder, merge by score; equal scores
        # keep the order the caller named the indexes in, then each index's rank.
        vectors: dict[int, np.ndarray] = {}
        ranked = []
        for position, entry in enumerate(loaded):
            embedder = entry.index.embedder
            q = query
            if isinstance(query, str) and embedder is not None:
                q = vectors.get(id(embedder))
                if q is None:
                    q = vectors[id(embedder)] = entry.index.embed_query(query)
            hits = entry.index.recall(q, k, filters=filters, min_score=min_score)
            ranked += [(-round(hit.score, 6), position, rank, hit) for rank, hit in enumerate(hits)]
        ranked.sort(key=lambda row: row[:3])
        return [row[3] for row in ranked[:k]]

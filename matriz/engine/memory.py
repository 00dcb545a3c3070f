"""In-process memory store: named indexes of items, cosine top-K recall.

An index keeps one float32 matrix of L2-normalised rows, so cosine similarity
is a single ``matrix @ q`` and top-K an ``argpartition`` — the same work a
bare numpy loop would do, which the benchmark checks. The matrix grows by
amortised doubling (appending row by row with ``vstack`` would copy the whole
matrix on every write). Deletes move the last row into the hole (or compact
in one pass for a large batch), so rows stay dense and ``matrix[:size]`` is
always the live set.

Metadata filters (``{"key": value}``, ``{"key": {"$in": [...]}}``, ``$ne``,
``$nin``) are answered from posting lists over hashable scalar values; when
they select a subset, only that subset is scored.

Embedding is pluggable (:mod:`matriz.engine.embedders`); the store defaults
to the download-free :class:`HashingEmbedder`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from matriz.engine import metrics
from matriz.engine.embedders import (
    DEFAULT_DIM,
    Embedder,
    EmbedderUnavailableError,
    HashingEmbedder,
    OnnxMiniLMEmbedder,
    _normalise,
)

log = logging.getLogger(__name__)

_MISSING = object()
_FILTER_OPS = frozenset({"$eq", "$ne", "$in", "$nin"})
# Above this many ids, one compaction pass beats moving rows one by one.
_COMPACT_BATCH = 32


class MemoryStoreError(Exception):
    """Base of the store's errors."""


class IndexNotFoundError(MemoryStoreError, KeyError):
    pass


@dataclass(frozen=True, slots=True)
class MemoryItem:
    id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    vector: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class RecallHit:
    id: str
    text: str
    metadata: Mapping[str, Any]
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "metadata": dict(self.metadata),
            "score": self.score,
        }


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` best scores, best first; near-ties go to the lower position.

    Scores equal to 1e-6 are ordered by position (insertion order), also at the
    cut-off, so results do not depend on argpartition's tie handling or on the
    BLAS kernel's summation order: the same store gives the same answer on
    every machine.
    """
    kk = min(k, scores.size)
    top = np.argpartition(scores, scores.size - kk)[scores.size - kk :]
    # Everything within 1e-6 of the cut-off competes, not just argpartition's pick.
    candidates = np.flatnonzero(scores >= scores[top].min() - 1e-6)
    quantised = np.round(scores[candidates].astype(np.float64) * 1e6)
    order = np.lexsort((candidates, -quantised))
    return candidates[order[:kk]]


def _posting_key(value: Any) -> Hashable | None:
    """Key under which a metadata value is indexed; None if it is not indexable.

    bool is kept apart from numbers (``True == 1`` in Python, not in JSON);
    1 and 1.0 share a key, as JSON numbers do.
    """
    if value is None:
        return ("none", None)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return None if value != value else ("num", value)  # NaN equals nothing
    if isinstance(value, str):
        return ("str", value)
    return None


def _values_equal(a: Any, b: Any) -> bool:
    ka, kb = _posting_key(a), _posting_key(b)
    if ka is not None or kb is not None:
        return ka == kb
    return bool(a == b)


class MemoryIndex:
    """One named collection of memories with its embedding matrix.

    Writes and reads take a lock: a delete moves rows, and a recall must not
    score a matrix half-moved. numpy releases the GIL inside the matmul, so
    recalls on different indexes still run in parallel.
    """

    def __init__(
        self,
        name: str,
        *,
        dim: int = DEFAULT_DIM,
        embedder: Embedder | None = None,
        initial_capacity: int = 1024,
        track_metrics: bool = True,
    ) -> None:
        if embedder is not None and embedder.dim != dim:
            raise ValueError(f"embedder dim {embedder.dim} != index dim {dim}")
        self.name = name
        self.dim = dim
        self.embedder = embedder
        self._matrix = np.empty((max(1, initial_capacity), dim), dtype=np.float32)
        self._size = 0
        self._ids: list[str] = []
        self._texts: list[str] = []
        self._metadata: list[dict[str, Any]] = []
        self._row_of: dict[str, int] = {}
        self._postings: dict[str, dict[Hashable, set[int]]] = {}
        self._lock = threading.RLock()
        self._track_metrics = track_metrics
        # Read by FoldPolicy: writes since the last fold, size right after it.
        self.writes_since_fold = 0
        self.size_at_last_fold: int | None = None

    # -- reading ---------------------------------------------------------------

    def __len__(self) -> int:
        return self._size

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._row_of

    @property
    def capacity(self) -> int:
        return self._matrix.shape[0]

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._ids)

    def get(self, item_id: str) -> MemoryItem:
        with self._lock:
            row = self._row_of[item_id]
            return MemoryItem(
                id=item_id,
                text=self._texts[row],
                metadata=dict(self._metadata[row]),
                vector=self._matrix[row].copy(),
            )

    def items(self) -> list[MemoryItem]:
        with self._lock:
            return [self.get(item_id) for item_id in self._ids]

    def vectors(self) -> np.ndarray:
        """Read-only view of the live normalised rows, in the order of :meth:`ids`.

        A view, not a copy: valid until the next write (a delete moves rows).
        Hold :meth:`locked` while using it if writers may run meanwhile.
        """
        view = self._matrix[: self._size]
        view.flags.writeable = False
        return view

    @contextmanager
    def locked(self) -> Iterator[MemoryIndex]:
        """Hold the index still across several calls (folding does)."""
        with self._lock:
            yield self

    def nbytes(self) -> int:
        """Bytes held by the matrix (allocated capacity, not only live rows)."""
        return int(self._matrix.nbytes)

    def embed_query(self, query: str | np.ndarray) -> np.ndarray:
        if isinstance(query, str):
            if self.embedder is None:
                raise ValueError(f"index {self.name!r} has no embedder: pass a vector")
            vector = self.embedder.embed([query])[0]
        else:
            vector = np.asarray(query, dtype=np.float32)
        if vector.shape != (self.dim,):
            raise ValueError(f"query vector shape {vector.shape} != ({self.dim},)")
        norm = float(np.sqrt(vector @ vector))  # one query: cheaper than linalg.norm
        if not np.isfinite(norm):
            raise ValueError("query vector must be finite")
        return vector / norm if norm > 0 else vector

    def recall(
        self,
        query: str | np.ndarray,
        k: int = 10,
        *,
        filters: Mapping[str, Any] | None = None,
        min_score: float | None = None,
    ) -> list[RecallHit]:
        """Top-``k`` items by cosine similarity, best first, among those matching ``filters``."""
        q = self.embed_query(query)
        if k <= 0 or not q.any():
            return []  # an empty query is similar to nothing
        with self._lock:
            n = self._size
            if n == 0:
                return []
            rows = self.matching_rows(filters) if filters else None
            if rows is None:
                scores = self._matrix[:n] @ q
            elif rows.size == 0:
                return []
            else:
                scores = self._matrix[rows] @ q
            top = _top_k(scores, k)
            hits = []
            for position in top.tolist():
                score = float(scores[position])
                if min_score is not None and score < min_score:
                    break
                row = position if rows is None else int(rows[position])
                hits.append(
                    RecallHit(
                        id=self._ids[row],
                        text=self._texts[row],
                        # Read-only view: a caller editing it must not corrupt posting lists.
                        metadata=MappingProxyType(self._metadata[row]),
                        score=score,
                    )
                )
            return hits

    def matching_rows(self, filters: Mapping[str, Any]) -> np.ndarray | None:
        """Sorted rows matching every condition, or None when that is all rows."""
        with self._lock:
            n = self._size
            mask = np.ones(n, dtype=bool)
            for key, condition in filters.items():
                if isinstance(condition, Mapping):
                    unknown = set(condition) - _FILTER_OPS
                    if unknown:
                        raise ValueError(f"unknown filter operator(s) {sorted(unknown)} on {key!r}")
                    ops = condition.items()
                else:
                    ops = [("$eq", condition)]
                for op, operand in ops:
                    if op in ("$in", "$nin"):
                        if isinstance(operand, str | bytes) or not isinstance(operand, Iterable):
                            raise ValueError(f"{op} on {key!r} needs a list of values")
                        values = list(operand)
                    else:
                        values = [operand]
                    hit = self._rows_equal_to_any(key, values, n)
                    mask &= ~hit if op in ("$ne", "$nin") else hit
            if mask.all():
                return None
            return np.flatnonzero(mask)

    def _rows_equal_to_any(self, key: str, values: list[Any], n: int) -> np.ndarray:
        hit = np.zeros(n, dtype=bool)
        postings = self._postings.get(key, {})
        for value in values:
            posting_key = _posting_key(value)
            if posting_key is not None:
                rows = postings.get(posting_key)
                if rows:
                    hit[np.fromiter(rows, dtype=np.int64, count=len(rows))] = True
            else:  # a list or dict value: no posting list, compare one by one
                hit |= np.fromiter(
                    (_values_equal(m.get(key, _MISSING), value) for m in self._metadata),
                    dtype=bool,
                    count=n,
                )
        return hit

    # -- writing ---------------------------------------------------------------

    def add(self, items: Iterable[MemoryItem | Mapping[str, Any]]) -> list[str]:
        """Add or replace (same id) a batch of items; returns their ids in order.

        Items without a vector are embedded in one batch by the index's embedder.
        """
        batch = [
            item if isinstance(item, MemoryItem) else _item_from_mapping(item) for item in items
        ]
        if not batch:
            return []
        ids = [item.id or uuid.uuid4().hex for item in batch]
        texts = [item.text for item in batch]
        vectors = np.empty((len(batch), self.dim), dtype=np.float32)
        missing = [i for i, item in enumerate(batch) if item.vector is None]
        if missing:
            if self.embedder is None:
                raise ValueError(f"index {self.name!r} has no embedder: give items a vector")
            vectors[missing] = self.embedder.embed([texts[i] for i in missing])
        for i, item in enumerate(batch):
            if item.vector is not None:
                vectors[i] = np.asarray(item.vector, dtype=np.float32).reshape(self.dim)
        self.add_vectors(ids, vectors, texts=texts, metadata=[dict(i.metadata) for i in batch])
        return ids

    def add_vectors(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        *,
        texts: Sequence[str] | None = None,
        metadata: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Bulk path: vectors given, no embedding. An existing id is replaced in place."""
        vectors = np.asarray(vectors, dtype=np.float32)
        count = len(ids)
        if vectors.shape != (count, self.dim):
            raise ValueError(f"vectors shape {vectors.shape} != ({count}, {self.dim})")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors must be finite")
        texts = list(texts) if texts is not None else [""] * count
        metas = [dict(m) for m in metadata] if metadata is not None else [{} for _ in range(count)]
        if len(texts) != count or len(metas) != count:
            raise ValueError("ids, texts and metadata must have the same length")
        for item_id in ids:
            if not isinstance(item_id, str) or not item_id:
                raise ValueError(f"memory ids are non-empty strings, got {item_id!r}")
        # Within a batch the last occurrence of an id wins.
        last = {item_id: i for i, item_id in enumerate(ids)}
        if len(last) != count:
            keep = sorted(last.values())
            ids = [ids[i] for i in keep]
            vectors, texts, metas = (
                vectors[keep],
                [texts[i] for i in keep],
                [metas[i] for i in keep],
            )
        normalised = _normalise(vectors)
        with self._lock:
            rows = np.empty(len(ids), dtype=np.int64)
            fresh = 0
            for i, item_id in enumerate(ids):
                row = self._row_of.get(item_id)
                if row is None:
                    rows[i] = self._size + fresh
                    fresh += 1
                else:
                    rows[i] = row
                    self._unindex(row)
            self._ensure_capacity(self._size + fresh)
            self._matrix[rows] = normalised
            for i, item_id in enumerate(ids):
                row = int(rows[i])
                if row >= self._size:  # appended in order, so this is len(self._ids)
                    self._ids.append(item_id)
                    self._texts.append(texts[i])
                    self._metadata.append(metas[i])
                    self._row_of[item_id] = row
                else:
                    self._texts[row] = texts[i]
                    self._metadata[row] = metas[i]
                self._index(row)
            self._size += fresh
            self.writes_since_fold += len(ids)
            self._report_size()

    def update_metadata(self, item_id: str, metadata: Mapping[str, Any]) -> None:
        with self._lock:
            row = self._row_of[item_id]
            self._unindex(row)
            self._metadata[row] = dict(metadata)
            self._index(row)

    def delete(self, ids: Iterable[str]) -> int:
        """Remove items by id; unknown ids are ignored. Returns how many were removed."""
        with self._lock:
            doomed = {self._row_of[i] for i in set(ids) if i in self._row_of}
            if not doomed:
                return 0
            if len(doomed) > _COMPACT_BATCH:
                self._compact(doomed)
            else:
                # Highest rows first, so the row we move in from the end is never doomed.
                for row in sorted(doomed, reverse=True):
                    self._swap_remove(row)
            self.writes_since_fold += len(doomed)
            self._report_size()
            return len(doomed)

    def _swap_remove(self, row: int) -> None:
        last = self._size - 1
        self._unindex(row)
        del self._row_of[self._ids[row]]
        if row != last:
            self._unindex(last)
            self._matrix[row] = self._matrix[last]
            self._ids[row], self._texts[row], self._metadata[row] = (
                self._ids[last],
                self._texts[last],
                self._metadata[last],
            )
            self._row_of[self._ids[row]] = row
            self._index(row)
        self._ids.pop()
        self._texts.pop()
        self._metadata.pop()
        self._size -= 1

    def _compact(self, doomed: set[int]) -> None:
        keep = np.ones(self._size, dtype=bool)
        keep[list(doomed)] = False
        kept_rows = np.flatnonzero(keep)
        new_size = kept_rows.size
        self._matrix[:new_size] = self._matrix[kept_rows]
        kept = kept_rows.tolist()
        self._ids = [self._ids[r] for r in kept]
        self._texts = [self._texts[r] for r in kept]
        self._metadata = [self._metadata[r] for r in kept]
        self._row_of = {item_id: row for row, item_id in enumerate(self._ids)}
        self._size = new_size
        self._postings = {}
        for row in range(new_size):
            self._index(row)

    def _ensure_capacity(self, needed: int) -> None:
        capacity = self._matrix.shape[0]
        if needed <= capacity:
            return
        grown = np.empty((max(needed, capacity * 2), self.dim), dtype=np.float32)
        grown[: self._size] = self._matrix[: self._size]
        self._matrix = grown

    def _index(self, row: int) -> None:
        for key, value in self._metadata[row].items():
            posting_key = _posting_key(value)
            if posting_key is not None:
                self._postings.setdefault(key, {}).setdefault(posting_key, set()).add(row)

    def _unindex(self, row: int) -> None:
        for key, value in self._metadata[row].items():
            posting_key = _posting_key(value)
            if posting_key is None:
                continue
            by_value = self._postings.get(key)
            if by_value is None:
                continue
            rows = by_value.get(posting_key)
            if rows is not None:
                rows.discard(row)
                if not rows:
                    del by_value[posting_key]

    def _report_size(self) -> None:
        if self._track_metrics:
            metrics.MEMORY_ITEMS.labels(index=self.name).set(self._size)


def _item_from_mapping(data: Mapping[str, Any]) -> MemoryItem:
    return MemoryItem(
        id=data.get("id") or uuid.uuid4().hex,
        text=data.get("text", ""),
        metadata=data.get("metadata") or {},
        vector=data.get("vector"),
    )


WriteHook = Callable[[MemoryIndex], Any]


class MemoryStore:
    """Named indexes sharing one embedder.

    ``on_write`` is called with the index after every add or delete; the
    folding module's :func:`~matriz.engine.folding.fold_on_write` plugs in there.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        on_write: WriteHook | None = None,
        track_metrics: bool = True,
    ) -> None:
        self.embedder = embedder if embedder is not None else HashingEmbedder()
        self.on_write = on_write
        self._track_metrics = track_metrics
        self._indexes: dict[str, MemoryIndex] = {}
        self._lock = threading.Lock()

    def create_index(
        self, name: str, *, exist_ok: bool = False, initial_capacity: int = 1024
    ) -> MemoryIndex:
        with self._lock:
            if name in self._indexes:
                if exist_ok:
                    return self._indexes[name]
                raise ValueError(f"index {name!r} already exists")
            index = MemoryIndex(
                name,
                dim=self.embedder.dim,
                embedder=self.embedder,
                initial_capacity=initial_capacity,
                track_metrics=self._track_metrics,
            )
            self._indexes[name] = index
            return index

    def index(self, name: str) -> MemoryIndex:
        try:
            return self._indexes[name]
        except KeyError:
            raise IndexNotFoundError(name) from None

    def drop_index(self, name: str) -> None:
        with self._lock:
            if self._indexes.pop(name, None) is None:
                raise IndexNotFoundError(name)
        if self._track_metrics:
            metrics.MEMORY_ITEMS.labels(index=name).set(0)

    def names(self) -> list[str]:
        return sorted(self._indexes)

    def add(self, index: str, items: Iterable[MemoryItem | Mapping[str, Any]]) -> list[str]:
        target = self.index(index)
        ids = target.add(items)
        self._after_write(target)
        return ids

    def delete(self, index: str, ids: Iterable[str]) -> int:
        target = self.index(index)
        removed = target.delete(ids)
        if removed:
            self._after_write(target)
        return removed

    def recall(
        self,
        index: str,
        query: str | np.ndarray,
        k: int = 10,
        *,
        filters: Mapping[str, Any] | None = None,
        min_score: float | None = None,
    ) -> list[RecallHit]:
        return self.index(index).recall(query, k, filters=filters, min_score=min_score)

    def _after_write(self, index: MemoryIndex) -> None:
        if self.on_write is not None:
            self.on_write(index)


__all__ = [
    "DEFAULT_DIM",
    "Embedder",
    "EmbedderUnavailableError",
    "HashingEmbedder",
    "IndexNotFoundError",
    "MemoryIndex",
    "MemoryItem",
    "MemoryStore",
    "MemoryStoreError",
    "OnnxMiniLMEmbedder",
    "RecallHit",
    "WriteHook",
]

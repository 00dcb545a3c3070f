"""Folding: consolidate near-duplicate memories of an index into one.

Leader clustering in row order (insertion order, until deletes move the last
rows into holes): an item not yet absorbed becomes a leader and absorbs every later, unabsorbed item
whose cosine with it is ≥ ``threshold``. The leader keeps its own id, text and
vector; the ids and texts it absorbs are appended to its metadata
``folded_ids`` / ``folded_texts`` (carrying along what they had absorbed in
earlier folds).

Invariants, checked by the tests:

* every original id is traceable to exactly one surviving item — its own id,
  or an entry of one survivor's ``folded_ids``;
* idempotent: leaders are pairwise below the threshold (a later leader within
  reach of an earlier one would have been absorbed by it) and keep their
  vectors, so a second run finds nothing to fold.

Similarities are computed block by block (``block x n`` matrix products over
the upper triangle only): 10k x 384 folds in well under a second on two cores,
with memory bounded by the block size rather than by n².
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matriz.engine import metrics
from matriz.engine.memory import MemoryIndex

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.92
# A block of similarities is block x n float32; cap it near 128 MB.
_MAX_BLOCK_CELLS = 1 << 25


@dataclass(frozen=True, slots=True)
class FoldPolicy:
    """When to fold: every ``every_n_writes`` writes, or once above ``max_items``.

    The size trigger fires again only after the index grew by ``growth_slack``
    since the last fold; otherwise an index above the limit with no duplicates
    left would be folded on every single write.
    """

    threshold: float = DEFAULT_THRESHOLD
    every_n_writes: int | None = 1000
    max_items: int | None = None
    growth_slack: float = 0.1

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError("threshold is a cosine in (0, 1]")
        if self.every_n_writes is not None and self.every_n_writes < 1:
            raise ValueError("every_n_writes must be >= 1")

    def due(self, index: MemoryIndex) -> bool:
        if self.every_n_writes is not None and index.writes_since_fold >= self.every_n_writes:
            return True
        if self.max_items is not None and len(index) > self.max_items:
            last = index.size_at_last_fold
            return last is None or len(index) >= last * (1.0 + self.growth_slack)
        return False


@dataclass(frozen=True, slots=True)
class FoldReport:
    index: str
    before: int
    after: int
    groups: int
    absorbed: int
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "before": self.before,
            "after": self.after,
            "groups": self.groups,
            "absorbed": self.absorbed,
            "duration_s": self.duration_s,
        }


def find_fold_groups(
    vectors: np.ndarray, threshold: float = DEFAULT_THRESHOLD, *, block_size: int = 1024
) -> list[tuple[int, np.ndarray]]:
    """Leader rows with the rows they absorb, for L2-normalised ``vectors``."""
    n = vectors.shape[0]
    if n < 2:
        return []
    block_size = max(16, min(block_size, _MAX_BLOCK_CELLS // n))
    absorbed = np.zeros(n, dtype=bool)
    groups: list[tuple[int, np.ndarray]] = []
    for start in range(0, n, block_size):
        stop = min(n, start + block_size)
        # Columns from ``start`` on: pairs (i, j) with j < start were seen from j's block.
        close = (vectors[start:stop] @ vectors[start:].T) >= threshold
        width = stop - start
        close[:, :width] &= _strictly_upper(width)  # only j > i, and never i itself
        for offset in np.flatnonzero(close.any(axis=1)).tolist():
            leader = start + offset
            if absorbed[leader]:
                continue
            members = np.flatnonzero(close[offset]) + start
            members = members[~absorbed[members]]
            if members.size:
                absorbed[members] = True
                groups.append((leader, members))
    return groups


_UPPER_CACHE: dict[int, np.ndarray] = {}


def _strictly_upper(width: int) -> np.ndarray:
    mask = _UPPER_CACHE.get(width)
    if mask is None:
        mask = _UPPER_CACHE[width] = np.triu(np.ones((width, width), dtype=bool), k=1)
    return mask


def fold_index(
    index: MemoryIndex, *, threshold: float = DEFAULT_THRESHOLD, block_size: int = 1024
) -> FoldReport:
    """Fold ``index`` in place (holding its lock, so writers wait)."""
    started = time.perf_counter()
    with index.locked():
        before = len(index)
        row_ids = index.ids()
        groups = find_fold_groups(index.vectors(), threshold, block_size=block_size)
        doomed: list[str] = []
        for leader_row, member_rows in groups:
            leader = index.get(row_ids[leader_row])
            metadata = dict(leader.metadata)
            folded_ids = list(metadata.get("folded_ids", []))
            folded_texts = list(metadata.get("folded_texts", []))
            for row in member_rows.tolist():
                member = index.get(row_ids[row])
                folded_ids.append(member.id)
                folded_ids.extend(member.metadata.get("folded_ids", []))
                folded_texts.append(member.text)
                folded_texts.extend(member.metadata.get("folded_texts", []))
                doomed.append(member.id)
            metadata["folded_ids"] = folded_ids
            metadata["folded_texts"] = folded_texts
            index.update_metadata(leader.id, metadata)
        index.delete(doomed)
        index.writes_since_fold = 0
        index.size_at_last_fold = len(index)
        report = FoldReport(
            index=index.name,
            before=before,
            after=len(index),
            groups=len(groups),
            absorbed=len(doomed),
            duration_s=time.perf_counter() - started,
        )
    metrics.MEMORY_FOLDS.inc()
    log.info(
        "folded index %s: %d -> %d items (%d groups) in %.3fs",
        report.index,
        report.before,
        report.after,
        report.groups,
        report.duration_s,
    )
    return report


def maybe_fold(index: MemoryIndex, policy: FoldPolicy) -> FoldReport | None:
    """Fold if ``policy`` says it is due; what a scheduled task calls."""
    if not policy.due(index):
        return None
    return fold_index(index, threshold=policy.threshold)


def fold_on_write(policy: FoldPolicy) -> Callable[[MemoryIndex], FoldReport | None]:
    """A ``MemoryStore(on_write=...)`` hook that folds inline when due.

    Inline folding blocks the writer for the fold's duration; a site with large
    indexes schedules :func:`maybe_fold` in a background task instead.
    """

    def hook(index: MemoryIndex) -> FoldReport | None:
        return maybe_fold(index, policy)

    return hook

"""MATRIZ collectors: the engine's (re-exported) and the Django side's own.

Importing this module is what puts every ``matriz_*`` series on ``/metrics``
(the site autodiscovers ``metrics`` modules; the engine's collectors live on the
client's default registry). All of them work with ``PROMETHEUS_MULTIPROC_DIR``:
counters and histograms add up across processes; each gauge says how it merges.

Labels stay bounded: stages (six), failure types, node names (installed
plugins), index keys ``owner/name`` (created by operators), dream outcomes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from matriz.engine.metrics import (
    BREAKER_STATE,
    BREAKER_TRIPS,
    END_TO_END,
    MEMORY_FOLDS,
    MEMORY_ITEMS,
    STAGE_BUCKETS,
    STAGE_DURATION,
    STAGE_FAIL_TOTAL,
    STAGE_TOTAL,
    _collector,
)

__all__ = [
    "BREAKER_STATE",
    "BREAKER_TRIPS",
    "DREAMS_TOTAL",
    "DREAM_DURATION",
    "END_TO_END",
    "FOLD_ABSORBED",
    "FOLD_DURATION",
    "INDEX_SYNC_DURATION",
    "INDEX_SYNC_TOTAL",
    "LAST_FOLD",
    "MEMORY_FOLDS",
    "MEMORY_ITEMS",
    "STAGE_DURATION",
    "STAGE_FAIL_TOTAL",
    "STAGE_TOTAL",
    "STORED_ITEMS",
]

# The engine's matriz_memory_items is what a process holds in memory (livemax
# across processes); this is what the database holds, set by whichever process
# wrote last — "mostrecent", so a value survives the worker child that set it.
STORED_ITEMS = _collector(
    Gauge,
    "matriz_memory_stored_items",
    "Live items of a memory index in the database (set after every write and fold).",
    labelnames=["index"],
    multiprocess_mode="mostrecent",
)
LAST_FOLD = _collector(
    Gauge,
    "matriz_memory_last_fold_timestamp_seconds",
    "Unix time of the last fold of a memory index.",
    labelnames=["index"],
    multiprocess_mode="mostrecent",
)
FOLD_ABSORBED = _collector(
    Counter,
    "matriz_memory_fold_absorbed_total",
    "Memories absorbed into a near-duplicate by folding.",
)
FOLD_DURATION = _collector(
    Histogram,
    "matriz_memory_fold_duration_seconds",
    "Time of one fold (load, fold, write), by what triggered it.",
    labelnames=["trigger"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0),
)
INDEX_SYNC_TOTAL = _collector(
    Counter,
    "matriz_index_sync_total",
    "Version checks of a process's in-memory index: current, delta (caught up) or full reload.",
    labelnames=["outcome"],
)
INDEX_SYNC_DURATION = _collector(
    Histogram,
    "matriz_index_sync_seconds",
    "Time to catch an in-memory index up with the database (delta or full load).",
    labelnames=["outcome"],
    buckets=STAGE_BUCKETS,
)
DREAMS_TOTAL = _collector(
    Counter, "matriz_dreams_total", "Dreams finished, by status.", labelnames=["status"]
)
DREAM_DURATION = _collector(
    Histogram,
    "matriz_dream_duration_seconds",
    "Time a dream ran in its worker.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

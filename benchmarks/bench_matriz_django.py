"""MATRIZ through the Django runtime against the bare engine on the same data.

``run()`` returns rows ``name, value, unit, baseline_name, baseline_value,
ratio, budget, ok``. Figures, on a 10k x 384 index stored in SQLite (a
temporary var dir, migrated here):

(a) top-10 recall through ``MatrizRuntime.recall`` — the version check (one
    SELECT) plus the in-memory recall — against ``MemoryIndex.recall`` alone;
(b) a whole query through ``run_query`` (version check, the pipeline built
    from the registry, a per-thread event loop) against the same orchestrator
    awaited directly, p95;
(c) catching up after another write: the delta of 10 items, and the full
    load of 10k items from the database (first query of a process);
(d) folding 10k items through the service (load, fold, write back) against
    the engine's fold of the same matrix.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import asyncio
import random
import statistics
import tempfile
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too
from benchmarks.rows import p95, row

N_ITEMS = 10_000
_VOCABULARY = (
    "canary rollout guardian soak memory router breaker trace budget latency release "
    "promotion gate tenant quota policy dream fold index vector stage attention thought "
    "action decision awareness worker beat redis postgres metrics span alert dashboard"
)
WORDS = _VOCABULARY.split()


def _setup() -> None:
    os.environ.setdefault("LUKHAS_VAR_DIR", tempfile.mkdtemp(prefix="lukhas-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lukhas_site.settings")
    os.environ["LUKHAS_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))) for _ in range(n)]


def _timed(fn, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


def run() -> list[dict]:
    _setup()
    from matriz import services
    from matriz.engine import MemoryIndex
    from matriz.engine import fold_index as engine_fold
    from matriz.models import MemoryIndexModel
    from matriz.runtime import reset_runtime, run_query

    MemoryIndexModel.objects.filter(owner="bench").delete()
    index = services.index_create(owner="bench", name="recall")
    texts = _texts(N_ITEMS, seed=7)
    for start in range(0, N_ITEMS, 1000):
        services.items_add(index=index, items=[{"text": t} for t in texts[start : start + 1000]])
    queries = _texts(200, seed=11)
    runtime = reset_runtime()
    started = time.perf_counter()
    runtime.recall(text=queries[0], indexes=["recall"], owner="bench", top_k=10)
    full_load = time.perf_counter() - started
    bare: MemoryIndex = runtime.loaded("bench/recall").index

    def through_runtime():
        for q in queries:
            runtime.recall(text=q, indexes=["recall"], owner="bench", top_k=10)

    def bare_engine():
        for q in queries:
            bare.recall(q, 10)

    through_runtime(), bare_engine()  # warm
    via = statistics.median(_timed(through_runtime, 7)) / len(queries)
    raw = statistics.median(_timed(bare_engine, 7)) / len(queries)
    rows = [
        row(
            "top-10 recall, 10k x 384, through the Django runtime (version check + recall), median",
            via * 1e3, "ms", "MemoryIndex.recall on the same matrix", raw * 1e3,
            "ratio ≤ 1.5", via / raw <= 1.5,
        ),
    ]  # fmt: skip

    orchestrator = runtime.orchestrator()
    loop = asyncio.new_event_loop()

    def direct():
        loop.run_until_complete(
            orchestrator.run(queries[0], index="bench/recall", params={"top_k": 8})
        )

    def via_run_query():
        run_query(text=queries[0], indexes=["recall"], owner="bench")

    for _ in range(50):
        direct(), via_run_query()
    q_direct = p95(_timed(direct, 500))
    q_runtime = p95(_timed(via_run_query, 500))
    loop.close()
    rows.append(
        row(
            "whole query through run_query (10k index), p95",
            q_runtime * 1e3, "ms", "the same orchestrator awaited directly, p95", q_direct * 1e3,
            "p95 ≤ 10 ms and ratio ≤ 1.5", q_runtime <= 0.010 and q_runtime / q_direct <= 1.5,
        )
    )  # fmt: skip

    deltas = []
    for round_ in range(10):
        services.items_add(index=index, items=[{"text": t} for t in _texts(10, seed=100 + round_)])
        started = time.perf_counter()
        runtime.recall(text=queries[1], indexes=["recall"], owner="bench", top_k=10)
        deltas.append(time.perf_counter() - started)
    rows.append(
        row(
            "first recall after another write of 10 items (delta catch-up), median",
            statistics.median(deltas) * 1e3, "ms", "recall with nothing to catch up", via * 1e3,
            "≤ 20 ms", statistics.median(deltas) <= 0.020,
        )
    )  # fmt: skip
    rows.append(
        row(
            "first recall of a process: full load of 10k items from the database",
            full_load * 1e3, "ms", "", None, "≤ 2000 ms", full_load <= 2.0,
        )
    )  # fmt: skip

    scratch = MemoryIndex(
        "bench-fold", dim=bare.dim, initial_capacity=len(bare), track_metrics=False
    )
    scratch.add_vectors(bare.ids(), bare.vectors().copy())
    started = time.perf_counter()
    engine_fold(scratch)
    engine_seconds = time.perf_counter() - started
    record = services.fold_index(index=index)
    service_seconds = record.duration_ms / 1000.0
    rows.append(
        row(
            f"fold {record.before_count} items through the service (load, fold, write back)",
            service_seconds * 1e3, "ms",
            "the engine's fold of the same matrix", engine_seconds * 1e3,
            "≤ 5000 ms", service_seconds <= 5.0,
        )
    )  # fmt: skip
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)

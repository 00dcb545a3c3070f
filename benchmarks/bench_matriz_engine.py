"""Benchmarks of the MATRIZ engine, each against a bare baseline and a budget.

``run()`` returns one row per figure:

    name, value, unit, baseline_name, baseline_value, ratio, budget, ok

``ratio`` is value / baseline_value (None where a figure has no natural
baseline); ``ok`` says whether the budget holds. Figures:

(a) top-10 recall through the store API at 10k, 100k and 1M x 384 against a
    bare ``matrix @ q`` + ``argpartition`` on the same matrix (medians;
    ratio <= 1.5, 10k median <= 2 ms), and memory per item;
(b) orchestration overhead: six no-op stages with SDK spans and Prometheus
    metrics, p95 <= 1 ms, against a bare loop awaiting six no-op coroutines;
(c) the default pipeline in process (hash embed, 10k recall, light stages),
    p95 <= 10 ms;
(d) the router with one of three nodes 20x slower and failing 30 %: <= 2 % of
    traffic to it, and >= 25 % share back within 20 s (simulated) of recovery;
(e) folding 10k memories <= 2 s, against the bare n x n similarity product.

The whole run takes about a minute on two cores (the 1M matrix is 1.5 GB).
``run(quick=True)`` measures only small sizes, for a smoke test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# One BLAS thread, as web workers should run (docs/matriz-engine.md): a query's
# matrix-vector product is memory-bound, so a second thread buys nothing, while
# waking it costs milliseconds of tail latency whenever another process holds a
# core. Takes effect only if numpy is not imported yet; override to compare.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import asyncio
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from matriz.engine.clock import ManualClock
from matriz.engine.folding import fold_index
from matriz.engine.memory import HashingEmbedder, MemoryIndex, MemoryStore
from matriz.engine.metrics import PrometheusRecorder
from matriz.engine.orchestrator import Orchestrator, StageSpec
from matriz.engine.pipeline import build_default_pipeline
from matriz.engine.router import AdaptiveRouter
from matriz.engine.stages import FunctionNode, QueryContext, Stage, StageResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too
from benchmarks.router_sim import share, simulate, time_to_share
from benchmarks.rows import p95, row

DIM = 384
TOPICS = ["release", "canary", "guardian", "soak", "memory", "router", "breaker", "trace"]


def ensure_sdk_tracing() -> None:
    """Spans must be real SDK spans (not the API's no-ops) for (b) to mean anything."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SpanProcessor())  # records, exports nowhere
        trace.set_tracer_provider(provider)


def random_unit_matrix(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    matrix = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # chunks: no float64 temporaries of 1M x 384
        stop = min(n, start + 100_000)
        chunk = rng.random((stop - start, DIM), dtype=np.float32)
        chunk -= 0.5
        matrix[start:stop] = chunk
    return matrix


def timed_median(fn: Callable[[], Any], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# -- (a) recall ---------------------------------------------------------------------------


def bare_top10(matrix: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The baseline: what any numpy user would write."""
    scores = matrix @ q
    top = np.argpartition(scores, scores.size - 10)[-10:]
    return top[np.argsort(-scores[top])]


def bench_recall(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        vectors = random_unit_matrix(n)
        index = MemoryIndex("bench", dim=DIM, initial_capacity=n, track_metrics=False)
        index.add_vectors([f"m{i}" for i in range(n)], vectors)
        del vectors
        gc.collect()
        matrix = index.vectors()  # the same normalised rows the store scores
        queries = np.random.default_rng(1).standard_normal((16, DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        repeats = max(7, min(301, 3_000_000 // n))

        # Interleave the two so drift (turbo, other load) hits both alike.
        store_times, bare_times = [], []
        for i in range(repeats + 2):
            q = queries[i % len(queries)]
            t0 = time.perf_counter()
            index.recall(q, k=10)
            t1 = time.perf_counter()
            bare_top10(matrix, q)
            t2 = time.perf_counter()
            if i >= 2:  # warm-up
                store_times.append(t1 - t0)
                bare_times.append(t2 - t1)
        expected = [f"m{i}" for i in bare_top10(matrix, queries[0])]
        assert [h.id for h in index.recall(queries[0], k=10)] == expected
        store_ms = statistics.median(store_times) * 1000
        bare_ms = statistics.median(bare_times) * 1000
        label = f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"
        ok = store_ms <= 1.5 * bare_ms and (n != 10_000 or store_ms <= 2.0)
        budget = "ratio <= 1.5" + (" and <= 2 ms" if n == 10_000 else "")
        rows.append(row(f"recall_top10_{label}", store_ms, "ms", "bare_numpy", bare_ms, budget, ok))
        del index, matrix
        gc.collect()
    return rows


def bench_memory_per_item(n: int) -> dict[str, Any]:
    """Bytes per item of an index grown batch by batch, with text and metadata."""
    vectors = random_unit_matrix(n, seed=3)
    texts = [f"memory {i} about the {TOPICS[i % 8]} of release {i % 97}" for i in range(n)]
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    index = MemoryIndex("bytes", dim=DIM, track_metrics=False)
    for start in range(0, n, 10_000):
        stop = min(n, start + 10_000)
        index.add_vectors(
            [f"m{i}" for i in range(start, stop)],
            vectors[start:stop],
            texts=texts[start:stop],
            metadata=[{"topic": TOPICS[i % 8]} for i in range(start, stop)],
        )
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_item = (current - base) / n
    raw = DIM * 4
    label = f"memory_bytes_per_item_{n // 1000}k"
    return row(
        label, per_item, "bytes", "raw_float32_vector", raw, "ratio <= 2.0", per_item <= 2 * raw
    )


# -- (b) orchestration overhead -------------------------------------------------------------


def bench_orchestration(queries: int) -> dict[str, Any]:
    ensure_sdk_tracing()

    async def noop(ctx: QueryContext) -> StageResult:
        return StageResult()

    specs = [
        StageSpec(stage, (FunctionNode(f"{stage.value}.noop", stage, noop),)) for stage in Stage
    ]
    pipeline = Orchestrator(specs, recorder=PrometheusRecorder())

    async def bare_noop() -> None:
        return None

    async def measure() -> tuple[list[float], list[float]]:
        orchestrated, bare = [], []
        for i in range(queries + 50):
            t0 = time.perf_counter()
            await pipeline.run("q")
            t1 = time.perf_counter()
            for _ in range(6):
                await bare_noop()
            t2 = time.perf_counter()
            if i >= 50:
                orchestrated.append(t1 - t0)
                bare.append(t2 - t1)
        return orchestrated, bare

    orchestrated, bare = asyncio.run(measure())
    value, baseline = p95(orchestrated) * 1000, p95(bare) * 1000
    return row(
        "orchestration_6_noop_stages_p95", value, "ms", "bare_6_coroutines_p95", baseline,
        "p95 <= 1 ms", value <= 1.0,
    )  # fmt: skip


# -- (c) default pipeline ---------------------------------------------------------------------


def bench_default_pipeline(n: int, queries: int) -> list[dict[str, Any]]:
    store = MemoryStore(HashingEmbedder(DIM), track_metrics=False)
    store.create_index("default", initial_capacity=n)
    store.add(
        "default",
        [
            {
                "id": f"m{i}",
                "text": f"Note {i}: the {TOPICS[i % 8]} step {i % 13} is owned by team {i % 11}.",
                "metadata": {"topic": TOPICS[i % 8]},
            }
            for i in range(n)
        ],
    )
    pipeline = build_default_pipeline(store, recorder=PrometheusRecorder())
    texts = [f"who owns the {TOPICS[i % 8]} step {i % 13}" for i in range(queries)]

    async def measure() -> tuple[list[float], list[float]]:
        full, recall_only = [], []
        for i, text in enumerate(texts):
            t0 = time.perf_counter()
            result = await pipeline.run(text)
            t1 = time.perf_counter()
            store.recall("default", text, k=8)
            t2 = time.perf_counter()
            assert result.status == "ok", result.to_dict()
            if i >= 20:
                full.append(t1 - t0)
                recall_only.append(t2 - t1)
        return full, recall_only

    full, recall_only = asyncio.run(measure())
    value, baseline = p95(full) * 1000, p95(recall_only) * 1000
    label = f"default_pipeline_{n // 1000}k_p95"
    return [
        row(label, value, "ms", "hash_embed_plus_recall_p95", baseline, "p95 <= 10 ms", value <= 10)
    ]


# -- (d) router ---------------------------------------------------------------------------------


def bench_router() -> list[dict[str, Any]]:
    clock = ManualClock()
    router = AdaptiveRouter(clock=clock)
    recovered_at = 60.0
    fast = 0.010

    def degraded(now: float) -> tuple[float, float]:
        return (fast * 20, 0.3) if now < recovered_at else (fast, 0.0)

    profiles = {"a": lambda now: (fast, 0.0), "b": lambda now: (fast, 0.0), "c": degraded}
    picks = simulate(router, clock, profiles, queries=9000, interval_s=0.01)  # 90 s at 100 q/s
    degraded_share = share(picks, "c", until=recovered_at)
    recovery = time_to_share(picks, "c", 0.25, since=recovered_at)
    return [
        row(
            "router_share_to_degraded_node", degraded_share * 100, "%", "round_robin_share",
            100 / 3, "<= 2 %", degraded_share <= 0.02,
        ),
        row(
            "router_recovery_to_25pct_share", recovery if recovery is not None else float("inf"),
            "s (simulated)", "none", None, "<= 20 s", recovery is not None and recovery <= 20,
        ),
    ]  # fmt: skip


# -- (e) folding --------------------------------------------------------------------------------


def bench_folding(n: int) -> dict[str, Any]:
    rng = np.random.default_rng(4)
    originals = random_unit_matrix(int(n * 0.7), seed=5)
    originals /= np.linalg.norm(originals, axis=1, keepdims=True)
    dup_of = rng.integers(0, len(originals), n - len(originals))
    noise = rng.standard_normal((len(dup_of), DIM)).astype(np.float32) * 0.01
    vectors = np.vstack([originals, originals[dup_of] + noise])
    vectors = vectors[rng.permutation(n)]
    index = MemoryIndex("fold", dim=DIM, initial_capacity=n, track_metrics=False)
    index.add_vectors([f"m{i}" for i in range(n)], vectors, texts=[f"t{i}" for i in range(n)])
    matrix = index.vectors().copy()
    baseline = timed_median(lambda: matrix @ matrix.T, 3)  # all pairs, no grouping at all
    started = time.perf_counter()
    report = fold_index(index)
    elapsed = time.perf_counter() - started
    assert report.after < n and report.absorbed == n - report.after
    return row(
        f"fold_{n // 1000}k", elapsed, "s", "bare_n_by_n_similarity", baseline, "<= 2 s",
        elapsed <= 2.0,
    )  # fmt: skip


def run(*, quick: bool = False) -> list[dict[str, Any]]:
    """Measure everything; ``quick`` keeps sizes small (a smoke test, not a record)."""
    rows: list[dict[str, Any]] = []
    rows += bench_recall((10_000,) if quick else (10_000, 100_000, 1_000_000))
    rows.append(bench_memory_per_item(10_000 if quick else 100_000))
    rows.append(bench_orchestration(200 if quick else 3000))
    rows += bench_default_pipeline(10_000, 60 if quick else 1000)
    rows += bench_router()
    rows.append(bench_folding(2_000 if quick else 10_000))
    return rows


def _format(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'name':36} {'value':>12} {'unit':14} {'baseline':>12} {'ratio':>7}  budget / ok"]
    for r in rows:
        baseline = "-" if r["baseline_value"] is None else f"{r['baseline_value']:.4g}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        verdict = "ok" if r["ok"] else "OVER BUDGET"
        lines.append(
            f"{r['name']:36} {r['value']:>12.4g} {r['unit']:14} {baseline:>12} {ratio:>7}  "
            f"{r['budget']} / {verdict}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    started = time.perf_counter()
    results = run()
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, cpus={os.cpu_count()}")
    print(_format(results))
    print(f"total {time.perf_counter() - started:.1f}s")

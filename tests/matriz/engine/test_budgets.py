"""Latency budgets with 10x slack: sanity checks, not the record.

The record is benchmarks/bench_matriz_engine.py (run on a quiet machine); these
only catch an order-of-magnitude regression without flaking on a busy CI box.
"""

from __future__ import annotations

import asyncio
import runpy
import statistics
import time
from pathlib import Path

import numpy as np

from matriz.engine.memory import MemoryIndex
from matriz.engine.metrics import PrometheusRecorder
from matriz.engine.orchestrator import Orchestrator, StageSpec
from matriz.engine.pipeline import build_default_pipeline
from matriz.engine.stages import FunctionNode, QueryContext, Stage, StageResult
from tests.matriz.engine.helpers import make_store

SLACK = 10
BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_matriz_engine.py"


def p95(samples: list[float]) -> float:
    return sorted(samples)[int(0.95 * len(samples))]


def test_it_recalls_top10_of_10k_within_budget() -> None:
    rng = np.random.default_rng(0)
    index = MemoryIndex("budget", dim=384, initial_capacity=10_000, track_metrics=False)
    index.add_vectors([f"m{i}" for i in range(10_000)], rng.standard_normal((10_000, 384)))
    queries = rng.standard_normal((50, 384)).astype(np.float32)
    samples = []
    for q in queries:
        started = time.perf_counter()
        index.recall(q, k=10)
        samples.append(time.perf_counter() - started)
    assert statistics.median(samples) < 0.002 * SLACK


def test_it_orchestrates_six_noop_stages_within_budget() -> None:
    async def noop(ctx: QueryContext) -> StageResult:
        return StageResult()

    pipeline = Orchestrator(
        [StageSpec(s, (FunctionNode(f"{s.value}.noop", s, noop),)) for s in Stage],
        recorder=PrometheusRecorder(),
    )

    async def measure() -> list[float]:
        samples = []
        for _ in range(300):
            started = time.perf_counter()
            await pipeline.run("q")
            samples.append(time.perf_counter() - started)
        return samples

    assert p95(asyncio.run(measure())) < 0.001 * SLACK


def test_it_runs_the_default_pipeline_over_10k_within_budget() -> None:
    pipeline = build_default_pipeline(make_store(10_000), recorder=PrometheusRecorder())

    async def measure() -> list[float]:
        samples = []
        for i in range(100):
            started = time.perf_counter()
            result = await pipeline.run(f"what does the canary rollout need at step {i % 7}")
            samples.append(time.perf_counter() - started)
            assert result.status == "ok"
        return samples

    assert p95(asyncio.run(measure())) < 0.010 * SLACK


def test_it_keeps_the_benchmark_runnable_and_its_rows_in_shape(monkeypatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # the script sets it; undo after the test
    bench = runpy.run_path(str(BENCHMARK))
    rows = bench["run"](quick=True)
    keys = {"name", "value", "unit", "baseline_name", "baseline_value", "ratio", "budget", "ok"}
    assert rows and all(set(row) == keys for row in rows)
    names = [row["name"] for row in rows]
    for expected in (
        "recall_top10_10k",
        "orchestration_6_noop_stages_p95",
        "default_pipeline_10k_p95",
        "router_share_to_degraded_node",
        "router_recovery_to_25pct_share",
    ):
        assert expected in names
    for row in rows:
        assert isinstance(row["value"], float) and isinstance(row["ok"], bool)
        if row["baseline_value"]:
            assert row["ratio"] == row["value"] / row["baseline_value"]
    # The router rows come from a seeded simulation: they hold on any machine.
    assert all(row["ok"] for row in rows if row["name"].startswith("router_"))

"""Chaos: faults injected into the default pipeline degrade it, never crash it.

Each scenario runs many queries and checks: no exception escapes ``run``, the
chain names every failure where it happened, and the end-to-end budget holds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import numpy as np

from matriz.engine.memory import MemoryStore, RecallHit
from matriz.engine.orchestrator import QueryResult
from matriz.engine.pipeline import build_default_pipeline
from matriz.engine.stages import LinkStatus, QueryContext, Stage, StageResult
from tests.matriz.engine.helpers import HangingNode, RaisingNode, SlowNode, make_store, run

DEADLINE_S = 0.25
SLACK_S = 0.25  # scheduling noise on a busy CI machine; the budget itself is the point


class FlakyStore(MemoryStore):
    """A store whose recall fails (or stalls) on a seeded share of calls."""

    def __init__(self, inner: MemoryStore, *, failure_rate: float, seed: int = 11):
        super().__init__(inner.embedder, track_metrics=False)
        self._inner = inner
        self._rng = random.Random(seed)
        self.failure_rate = failure_rate
        self.failures = 0

    def recall(self, index: str, query, k: int = 10, **kwargs) -> list[RecallHit]:
        if self._rng.random() < self.failure_rate:
            self.failures += 1
            raise ConnectionError("memory backend unreachable")
        return self._inner.recall(index, query, k, **kwargs)


async def run_many(pipeline, queries: int) -> list[tuple[QueryResult, float]]:
    outcomes = []
    for i in range(queries):
        started = time.perf_counter()
        result = await pipeline.run(f"what about the release train step {i % 7}")
        outcomes.append((result, time.perf_counter() - started))
    return outcomes


def assert_within_budget(outcomes: list[tuple[QueryResult, float]]) -> None:
    worst = max(elapsed for _, elapsed in outcomes)
    assert worst < DEADLINE_S + SLACK_S, f"slowest query took {worst:.3f}s"


def test_it_survives_a_store_that_fails_part_of_the_time(null_recorder) -> None:
    store = FlakyStore(make_store(300), failure_rate=0.4)
    pipeline = build_default_pipeline(store, deadline_s=DEADLINE_S, recorder=null_recorder)

    outcomes = run(run_many(pipeline, 100))

    memory_links = [result.chain[0] for result, _ in outcomes]
    failed = [link for link in memory_links if link.status is LinkStatus.ERROR]
    assert len(failed) == store.failures and 20 < store.failures < 60
    assert {(link.error_type, link.error_message) for link in failed} == {
        ("ConnectionError", "memory backend unreachable")
    }
    for result, _ in outcomes:
        assert result.ok and result.answer  # memory is not critical: there is always an answer
        if result.chain[0].status is LinkStatus.ERROR:
            assert result.memories == () and result.answer.startswith("No memory matches")
            assert result.answer.endswith("[degraded: memory]")
        else:
            assert result.memories and "sources:" in result.answer
    assert_within_budget(outcomes)


def test_it_survives_a_raising_a_hanging_and_a_slow_node(null_recorder) -> None:
    hanging = HangingNode("attention.hang", Stage.ATTENTION)
    pipeline = build_default_pipeline(
        make_store(300),
        deadline_s=DEADLINE_S,
        stage_timeouts={Stage.ATTENTION: 0.02, Stage.THOUGHT: 0.05},
        extra_nodes=[
            hanging,
            RaisingNode("thought.boom", Stage.THOUGHT, RuntimeError("thought crashed")),
            SlowNode("decision.slow", Stage.DECISION, delay_s=0.005, output={"decision": "x"}),
        ],
        recorder=null_recorder,
    )

    outcomes = run(run_many(pipeline, 60))

    statuses: Counter[tuple[str, str | None, str]] = Counter()
    for result, _ in outcomes:
        assert result.ok, result.error
        assert result.answer
        for link in result.chain:
            statuses[(link.node or "", link.error_type, link.status.value)] += 1
    # The router keeps trying the bad nodes now and then (cold start and probes) and
    # every such attempt is in the chain with its own failure.
    assert statuses[("attention.hang", "StageTimeout", "timeout")] >= 2
    assert statuses[("thought.boom", "RuntimeError", "error")] >= 2
    assert statuses[("decision.slow", None, "ok")] >= 2
    assert hanging.cancelled
    # ...but most traffic went to the healthy built-ins.
    assert statuses[("attention.rank", None, "ok")] > 40
    assert statuses[("thought.compose", None, "ok")] > 40
    assert_within_budget(outcomes)


def test_it_keeps_the_deadline_when_every_stage_is_slow(null_recorder) -> None:
    store = make_store(50)
    pipeline = build_default_pipeline(
        store, deadline_s=0.1, stage_timeouts=dict.fromkeys(Stage, 0.06), recorder=null_recorder
    )
    for spec in pipeline.specs.values():
        node = spec.nodes[0]

        async def slow_run(ctx: QueryContext, _run=node.run) -> StageResult:
            await asyncio.sleep(0.04)
            return await _run(ctx)

        node.run = slow_run  # type: ignore[method-assign]

    async def timed() -> tuple[QueryResult, float]:
        started = time.perf_counter()
        result = await pipeline.run("release train")
        return result, time.perf_counter() - started

    result, elapsed = run(timed())
    assert elapsed < 0.1 + SLACK_S
    statuses = [link.status.value for link in result.chain]
    assert statuses[:2] == ["ok", "ok"]  # 80 ms of the 100 ms budget
    assert result.chain[2].error_type == "DeadlineExceeded"
    assert result.error is not None and result.error.kind == "deadline_exceeded"
    assert result.error.stage is Stage.ACTION  # the critical stage never got its turn


def test_it_survives_random_faults_in_every_stage(null_recorder) -> None:
    rng = random.Random(5)
    faults = Counter()

    def chaotic(node):
        original = node.run

        async def run_with_faults(ctx: QueryContext) -> StageResult:
            roll = rng.random()
            if roll < 0.1:
                faults[(node.name, "error")] += 1
                raise OSError("injected")
            if roll < 0.15:
                faults[(node.name, "timeout")] += 1
                await asyncio.sleep(1)
            return await original(ctx)

        node.run = run_with_faults
        return node

    pipeline = build_default_pipeline(
        make_store(100), deadline_s=0.5, stage_timeouts=dict.fromkeys(Stage, 0.01),
        recorder=null_recorder,
    )  # fmt: skip
    for spec in pipeline.specs.values():
        chaotic(spec.nodes[0])

    outcomes = run(run_many(pipeline, 120))

    seen = Counter()
    for result, _ in outcomes:
        for link in result.chain:
            if link.status is LinkStatus.ERROR:
                seen[(link.node, "error")] += 1
            elif link.status is LinkStatus.TIMEOUT:
                seen[(link.node, "timeout")] += 1
        if result.chain[3].status is not LinkStatus.OK:  # action is critical
            assert result.error is not None and result.error.stage is Stage.ACTION
            assert all(link.status is LinkStatus.SKIPPED for link in result.chain[4:])
        else:
            assert result.ok
    # Every injected fault shows up in a chain, attributed to the right node.
    assert seen == faults
    assert_within_budget(outcomes)


def test_it_recalls_from_a_10k_index_with_chaos_off(null_recorder) -> None:
    """Control run: with the same pipeline and no faults, nothing degrades."""
    store = make_store(10_000)
    pipeline = build_default_pipeline(store, recorder=null_recorder)
    results = [r for r, _ in run(run_many(pipeline, 20))]
    assert all(r.status == "ok" for r in results)
    assert all(len(r.memories) == 8 for r in results)
    assert np.mean([r.duration_ms for r in results]) < 100

"""Adaptive router: cost-based choice, probes, recovery, on a simulated clock."""

from __future__ import annotations

import random

import pytest

from benchmarks.router_sim import share, simulate, time_to_share
from matriz.engine.clock import ManualClock
from matriz.engine.orchestrator import Orchestrator, StageSpec
from matriz.engine.router import AdaptiveRouter
from matriz.engine.stages import Stage
from tests.matriz.engine.helpers import EchoNode, SlowNode, run


def steady(latency_s: float, failure_rate: float = 0.0):
    return lambda now: (latency_s, failure_rate)


def warm(router: AdaptiveRouter, clock: ManualClock, node: str, latency_s: float, n: int = 5):
    for _ in range(n):
        router.start(node)
        clock.advance(latency_s)
        router.finish(node, latency_s, ok=True)


def test_it_sends_the_fast_node_at_least_95_percent_of_1000_queries() -> None:
    clock = ManualClock()
    router = AdaptiveRouter(clock=clock)
    profiles = {"fast": steady(0.010), "slow": steady(0.200)}
    picks = simulate(router, clock, profiles, queries=1000, interval_s=0.02)
    assert share(picks, "fast") >= 0.95
    stats = router.snapshot()["slow"]
    assert stats["probes"] >= 3, "the slow node must still be probed"
    assert stats["picks"] > stats["probes"]  # plus its cold-start round-robin turns


def test_it_gives_a_recovered_node_traffic_again() -> None:
    clock = ManualClock()
    router = AdaptiveRouter(clock=clock)
    recovered_at = 20.0
    profiles = {
        "steady": steady(0.010),
        "flaky": lambda now: (0.200, 0.3) if now < recovered_at else (0.010, 0.0),
    }
    picks = simulate(router, clock, profiles, queries=4000, interval_s=0.01)  # 40 s
    assert share(picks, "flaky", since=5.0, until=recovered_at) <= 0.03
    assert share(picks, "flaky", since=recovered_at + 15, until=40.0) >= 0.3
    assert time_to_share(picks, "flaky", 0.25, since=recovered_at) is not None


def test_it_lets_an_idle_node_earn_traffic_back_without_probes() -> None:
    clock = ManualClock()
    router = AdaptiveRouter(clock=clock, probe_rate=0.0, idle_decay_s=5.0)
    warm(router, clock, "a", 0.010)
    warm(router, clock, "b", 0.200)  # b was slow once

    def next_pick_of_b(limit: int) -> int | None:
        for i in range(limit):
            node = router.pick(["a", "b"])
            if node == "b":
                return i
            router.start(node)
            clock.advance(0.01)
            router.finish(node, 0.010, ok=True)
        return None

    assert next_pick_of_b(200) is None  # 2 s: b's stale 200 ms still counts
    assert next_pick_of_b(5000) is not None  # after ~20 s idle it is tried again


def test_it_round_robins_while_stats_are_cold() -> None:
    router = AdaptiveRouter(clock=ManualClock(), min_samples=3)
    picks = [router.pick(["a", "b", "c"]) for _ in range(6)]
    assert sorted(picks) == ["a", "a", "b", "b", "c", "c"]


def test_it_weighs_in_flight_calls() -> None:
    clock = ManualClock()
    router = AdaptiveRouter(clock=clock, probe_rate=0.0)
    warm(router, clock, "a", 0.010)
    warm(router, clock, "b", 0.012)
    assert router.pick(["a", "b"]) == "a"
    router.start("a")
    router.start("a")  # a now costs 10 ms x 3 > b's 12 ms x 1
    assert router.pick(["a", "b"]) == "b"
    router.cancel("a")
    router.cancel("a")
    assert router.pick(["a", "b"]) == "a"


def test_it_divides_by_success_rate() -> None:
    clock = ManualClock()
    router = AdaptiveRouter(clock=clock, probe_rate=0.0)
    warm(router, clock, "good", 0.010)
    warm(router, clock, "bad", 0.008)
    for _ in range(5):
        router.start("bad")
        router.finish("bad", 0.008, ok=False)
    # bad is faster, but half its calls fail: 8 ms / 0.5 = 16 ms > 10 ms
    assert router.cost("bad", ["good", "bad"]) == pytest.approx(0.016, rel=0.05)
    assert router.pick(["good", "bad"]) == "good"


def test_it_believes_a_slow_sample_at_once_and_a_fast_one_gradually() -> None:
    clock = ManualClock()
    router = AdaptiveRouter(clock=clock, ewma_tau_s=1.0)
    warm(router, clock, "a", 0.010)
    router.start("a")
    router.finish("a", 0.500, ok=True)
    assert router.snapshot()["a"]["ewma_ms"] == pytest.approx(500.0)
    clock.advance(1.0)  # one time constant later: weight e^-1 on the old value
    router.start("a")
    router.finish("a", 0.010, ok=True)
    assert router.snapshot()["a"]["ewma_ms"] == pytest.approx(500 * 0.3679 + 10 * 0.6321, rel=1e-3)


def test_it_reports_p95_and_success_over_a_window() -> None:
    clock = ManualClock()
    router = AdaptiveRouter(clock=clock, window=20, window_age_s=100.0)
    latencies = [0.001 * i for i in range(1, 21)]
    random.Random(1).shuffle(latencies)
    for i, latency in enumerate(latencies):
        router.start("a")
        clock.advance(0.1)
        router.finish("a", latency, ok=i % 4 != 0)
    stats = router.snapshot()["a"]
    assert stats["p95_ms"] == pytest.approx(20.0)
    assert stats["success_rate"] == pytest.approx(0.75)
    clock.advance(200.0)  # everything ages out of the window
    assert router.snapshot()["a"]["success_rate"] == 1.0


def test_it_rejects_an_empty_candidate_list() -> None:
    with pytest.raises(ValueError):
        AdaptiveRouter().pick([])


def test_it_routes_a_real_stage_to_the_faster_node(null_recorder) -> None:
    fast = EchoNode("thought.fast", Stage.THOUGHT, output="fast")
    slow = SlowNode("thought.slow", Stage.THOUGHT, delay_s=0.02)
    pipeline = Orchestrator(
        [StageSpec(Stage.THOUGHT, (fast, slow), timeout_s=1.0)],
        router=AdaptiveRouter(min_samples=2, probe_rate=0.0),
        recorder=null_recorder,
    )

    async def many() -> list[str]:
        return [(await pipeline.run("q")).chain[2].node for _ in range(40)]

    nodes = run(many())
    assert nodes[:4].count("thought.slow") == 2  # cold: round robin
    assert nodes[10:].count("thought.fast") == 30

"""Deterministic discrete-event simulation of the adaptive router.

Queries arrive at a fixed interval on a :class:`ManualClock`; each picks a node,
which answers after its profile's latency (with seeded log-normal jitter) and
fails with its profile's probability. Completions feed the router as they fall
due, so in-flight counts are real. The tests and the benchmark use it to check
routing behaviour over minutes of simulated traffic in milliseconds of CPU.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from matriz.engine.clock import ManualClock
from matriz.engine.router import AdaptiveRouter

# A node's behaviour at a given time: (latency in seconds, failure probability).
Profile = Callable[[float], tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Pick:
    at: float
    node: str
    ok: bool


def simulate(
    router: AdaptiveRouter,
    clock: ManualClock,
    profiles: Mapping[str, Profile],
    *,
    queries: int,
    interval_s: float,
    jitter: float = 0.1,
    seed: int = 7,
) -> list[Pick]:
    """Drive ``queries`` arrivals through ``router``; returns every pick in order."""
    rng = random.Random(seed)
    names = list(profiles)
    pending: list[tuple[float, int, str, float, bool]] = []
    picks: list[Pick] = []
    start = clock()
    for i in range(queries):
        arrival = start + i * interval_s
        while pending and pending[0][0] <= arrival:
            done_at, _, node, latency, ok = heapq.heappop(pending)
            clock.set(max(done_at, clock()))
            router.finish(node, latency, ok=ok)
        clock.set(max(arrival, clock()))
        node = router.pick(names)
        router.start(node)
        base_latency, failure_rate = profiles[node](arrival)
        latency = base_latency * (rng.lognormvariate(0.0, jitter) if jitter else 1.0)
        ok = rng.random() >= failure_rate
        heapq.heappush(pending, (arrival + latency, i, node, latency, ok))
        picks.append(Pick(arrival, node, ok))
    while pending:
        done_at, _, node, latency, ok = heapq.heappop(pending)
        clock.set(max(done_at, clock()))
        router.finish(node, latency, ok=ok)
    return picks


def share(
    picks: list[Pick], node: str, *, since: float = float("-inf"), until: float = float("inf")
) -> float:
    """Fraction of the picks in [since, until) that went to ``node`` (picks are time-ordered)."""
    times = [p.at for p in picks]
    window = picks[bisect.bisect_left(times, since) : bisect.bisect_left(times, until)]
    return sum(p.node == node for p in window) / len(window) if window else 0.0


def time_to_share(
    picks: list[Pick], node: str, target: float, *, since: float, bucket_s: float = 1.0
) -> float | None:
    """Seconds from ``since`` until ``node`` holds ``target`` share of a ``bucket_s`` window.

    None if it never does within the simulated span.
    """
    times = [p.at for p in picks]
    t = since
    while times and t + bucket_s <= times[-1] + 1e-9:
        window = picks[bisect.bisect_left(times, t) : bisect.bisect_left(times, t + bucket_s)]
        if window and sum(p.node == node for p in window) / len(window) >= target:
            return t + bucket_s - since
        t += bucket_s / 4
    return None

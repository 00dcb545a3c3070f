"""Adaptive choice between several nodes serving one stage.

Each node keeps a peak-EWMA latency (Finagle / linkerd: a slower sample is
taken at once, a faster one blends in with weight ``1 - exp(-Δt/τ)``), its
in-flight count, and a sliding window of recent outcomes (count- and
age-bounded) giving p95 and success rate. The pick is the lowest

    cost = latency * (in_flight + 1) / max(success, epsilon)

with three safety valves:

* while any candidate has fewer than ``min_samples`` samples, round-robin, so
  every node gets measured before it is judged;
* an idle node's latency and success relax toward a neutral prior (the best
  peer's latency, full success) with time constant ``idle_decay_s``, so a node
  that was slow once is tried again after a while instead of being starved by
  a stale figure — peak-EWMA snaps back at once if it is still slow;
* with probability ``probe_rate`` the least recently picked other node is
  probed, which is what finds out that a degraded node has recovered.

Costs within ``tie_tolerance`` of the best are treated as equal and served
round-robin, so equally good nodes share the load.

Time comes from an injectable clock; latencies are passed in by the caller,
which lets a simulation drive thousands of queries in milliseconds.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matriz.engine.clock import Clock


@dataclass(slots=True)
class _NodeStats:
    ewma_s: float = 0.0
    last_sample_at: float | None = None
    last_pick_at: float = -math.inf
    in_flight: int = 0
    total: int = 0
    picks: int = 0
    probes: int = 0
    # (at, latency_s, ok), oldest first.
    samples: deque[tuple[float, float, bool]] = field(default_factory=deque)
    ok_in_window: int = 0


class AdaptiveRouter:
    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        min_samples: int = 5,
        window: int = 64,
        window_age_s: float = 10.0,
        ewma_tau_s: float = 1.0,
        idle_decay_s: float = 10.0,
        probe_rate: float = 0.01,
        tie_tolerance: float = 0.1,
        epsilon: float = 0.05,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 <= probe_rate < 1:
            raise ValueError("probe_rate must be in [0, 1)")
        self._clock = clock
        self.min_samples = min_samples
        self.window = window
        self.window_age_s = window_age_s
        self.ewma_tau_s = ewma_tau_s
        self.idle_decay_s = idle_decay_s
        self.probe_rate = probe_rate
        self.tie_tolerance = tie_tolerance
        self.epsilon = epsilon
        # Seeded by default: routing decisions are reproducible run to run.
        self._rng = rng or random.Random(0x4D41)  # noqa: S311 - load spreading, not crypto
        self._stats: dict[str, _NodeStats] = {}
        self._rr = 0
        self._lock = threading.Lock()

    def pick(self, candidates: Sequence[str]) -> str:
        """Choose one of ``candidates`` (node names) and count it as picked."""
        if not candidates:
            raise ValueError("no candidate to pick from")
        with self._lock:
            now = self._clock()
            choice, probe = self._choose(candidates, now)
            stats = self._get(choice)
            stats.last_pick_at = now
            stats.picks += 1
            stats.probes += probe
            return choice

    def start(self, node: str) -> None:
        with self._lock:
            self._get(node).in_flight += 1

    def finish(self, node: str, latency_s: float, *, ok: bool) -> None:
        """Record one completed call (started with :meth:`start`)."""
        with self._lock:
            now = self._clock()
            stats = self._get(node)
            stats.in_flight = max(0, stats.in_flight - 1)
            if stats.total == 0 or latency_s > stats.ewma_s:
                stats.ewma_s = latency_s  # peak: bad news is believed at once
            else:
                gap = now - stats.last_sample_at if stats.last_sample_at is not None else 0.0
                weight = math.exp(-max(gap, 0.0) / self.ewma_tau_s)
                stats.ewma_s = stats.ewma_s * weight + latency_s * (1.0 - weight)
            stats.last_sample_at = now
            stats.total += 1
            stats.samples.append((now, latency_s, ok))
            stats.ok_in_window += ok
            self._evict(stats, now)

    def cancel(self, node: str) -> None:
        """A call abandoned without an outcome (outer cancellation): no sample."""
        with self._lock:
            stats = self._get(node)
            stats.in_flight = max(0, stats.in_flight - 1)

    def cost(self, node: str, candidates: Sequence[str] | None = None) -> float:
        with self._lock:
            now = self._clock()
            prior = self._prior_latency(candidates or [node])
            return self._cost(self._get(node), now, prior)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Per-node figures for ops pages and tests."""
        with self._lock:
            now = self._clock()
            out = {}
            for name, stats in sorted(self._stats.items()):
                self._evict(stats, now)
                latencies = sorted(s[1] for s in stats.samples)
                p95 = (
                    latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
                    if latencies
                    else None
                )
                out[name] = {
                    "ewma_ms": stats.ewma_s * 1000.0,
                    "p95_ms": None if p95 is None else p95 * 1000.0,
                    "success_rate": self._success(stats),
                    "in_flight": stats.in_flight,
                    "samples": stats.total,
                    "picks": stats.picks,
                    "probes": stats.probes,
                }
            return out

    def _choose(self, candidates: Sequence[str], now: float) -> tuple[str, bool]:
        if len(candidates) == 1:
            return candidates[0], False
        if any(self._get(c).total < self.min_samples for c in candidates):
            self._rr += 1
            return candidates[self._rr % len(candidates)], False
        prior = self._prior_latency(candidates)
        costs = [self._cost(self._get(c), now, prior) for c in candidates]
        best = min(costs)
        if self.probe_rate and self._rng.random() < self.probe_rate:
            others = [c for c, cost in zip(candidates, costs, strict=True) if cost > best]
            if others:
                return min(others, key=lambda c: self._stats[c].last_pick_at), True
        near = [
            c
            for c, cost in zip(candidates, costs, strict=True)
            if cost <= best * (1.0 + self.tie_tolerance)
        ]
        self._rr += 1
        return near[self._rr % len(near)], False

    def _cost(self, stats: _NodeStats, now: float, prior_latency: float) -> float:
        self._evict(stats, now)
        decay = 1.0
        if stats.last_sample_at is not None and self.idle_decay_s > 0:
            decay = math.exp(-max(now - stats.last_sample_at, 0.0) / self.idle_decay_s)
        latency = prior_latency + (stats.ewma_s - prior_latency) * decay
        success = 1.0 + (self._success(stats) - 1.0) * decay
        return latency * (stats.in_flight + 1) / max(success, self.epsilon)

    def _prior_latency(self, candidates: Sequence[str]) -> float:
        warm = [
            self._stats[c].ewma_s for c in candidates if c in self._stats and self._stats[c].total
        ]
        return min(warm) if warm else 0.0

    def _success(self, stats: _NodeStats) -> float:
        return stats.ok_in_window / len(stats.samples) if stats.samples else 1.0

    def _evict(self, stats: _NodeStats, now: float) -> None:
        samples = stats.samples
        while samples and (len(samples) > self.window or samples[0][0] < now - self.window_age_s):
            stats.ok_in_window -= samples.popleft()[2]

    def _get(self, node: str) -> _NodeStats:
        stats = self._stats.get(node)
        if stats is None:
            stats = self._stats[node] = _NodeStats()
        return stats

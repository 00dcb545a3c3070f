"""Prometheus collectors of the MATRIZ engine, defined once per process.

They live on the client's default registry so the site's ``/metrics`` (and
its multiprocess collector) exposes them without wiring. Creation goes
through :func:`_collector`, which hands back the already registered collector
when this module is executed a second time (a reload, or the same file
imported under two names) instead of failing with "Duplicated timeseries".

Labels are bounded: stage names (six), failure types (exception class names
plus ``timeout`` / ``deadline_exceeded`` / ``circuit_open``), node names
(plugins installed) and index names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

from matriz.engine.breaker import STATE_VALUES, BreakerState

if TYPE_CHECKING:
    from matriz.engine.breaker import CircuitBreaker

# Stages are often sub-millisecond (a 10k recall is ~1 ms, a no-op node ~20 µs):
# the client's default buckets start at 5 ms and would put everything in one.
STAGE_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


def _collector(cls: type, name: str, documentation: str, **kwargs: Any) -> Any:
    existing = REGISTRY._names_to_collectors.get(name)  # no public lookup exists
    if existing is not None:
        return existing
    return cls(name, documentation, **kwargs)


STAGE_TOTAL = _collector(
    Counter, "matriz_stage_total", "Stages attempted, by stage.", labelnames=["stage"]
)
STAGE_FAIL_TOTAL = _collector(
    Counter,
    "matriz_stage_fail_total",
    "Stages that did not finish ok, by stage and failure type.",
    labelnames=["stage", "type"],
)
STAGE_DURATION = _collector(
    Histogram,
    "matriz_stage_duration_seconds",
    "Time spent in a stage's node, by stage.",
    labelnames=["stage"],
    buckets=STAGE_BUCKETS,
)
END_TO_END = _collector(
    Histogram,
    "matriz_end_to_end_seconds",
    "Time of a whole MATRIZ query, all stages.",
    buckets=STAGE_BUCKETS,
)
# livemax: with several worker processes the worst live state wins (2 = open).
BREAKER_STATE = _collector(
    Gauge,
    "matriz_breaker_state",
    "Circuit breaker state per node: 0 closed, 1 half-open, 2 open.",
    labelnames=["node"],
    multiprocess_mode="livemax",
)
BREAKER_TRIPS = _collector(
    Counter, "matriz_breaker_trips_total", "Breaker transitions to open.", labelnames=["node"]
)
MEMORY_ITEMS = _collector(
    Gauge,
    "matriz_memory_items",
    "Items held by a memory index.",
    labelnames=["index"],
    multiprocess_mode="livemax",
)
MEMORY_FOLDS = _collector(Counter, "matriz_memory_folds_total", "Folding runs over an index.")


class PipelineRecorder(Protocol):
    """What the orchestrator reports; swap in :class:`NullRecorder` to measure without."""

    def stage_finished(
        self, stage: str, failure_type: str | None, duration_s: float | None
    ) -> None: ...

    def query_finished(self, duration_s: float) -> None: ...

    def watch_breaker(self, breaker: CircuitBreaker) -> None: ...


class PrometheusRecorder:
    """Feeds the module's collectors; caches label children (a lookup costs ~1 µs)."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, ...], Any] = {}

    def stage_finished(
        self, stage: str, failure_type: str | None, duration_s: float | None
    ) -> None:
        self._child(STAGE_TOTAL, "total", stage).inc()
        if duration_s is not None:
            self._child(STAGE_DURATION, "duration", stage).observe(duration_s)
        if failure_type is not None:
            self._child(STAGE_FAIL_TOTAL, "fail", stage, failure_type).inc()

    def query_finished(self, duration_s: float) -> None:
        END_TO_END.observe(duration_s)

    def watch_breaker(self, breaker: CircuitBreaker) -> None:
        BREAKER_STATE.labels(node=breaker.name).set(STATE_VALUES[breaker.state])
        # The trips series exists from the start: increase() reads 0, not "no data".
        BREAKER_TRIPS.labels(node=breaker.name)
        breaker.add_listener(_on_breaker_change)

    def _child(self, collector: Any, key: str, *labels: str) -> Any:
        child = self._children.get((key, *labels))
        if child is None:
            child = self._children[(key, *labels)] = collector.labels(*labels)
        return child


def _on_breaker_change(breaker: CircuitBreaker, old: BreakerState, new: BreakerState) -> None:
    BREAKER_STATE.labels(node=breaker.name).set(STATE_VALUES[new])
    if new is BreakerState.OPEN:
        BREAKER_TRIPS.labels(node=breaker.name).inc()


class NullRecorder:
    def stage_finished(
        self, stage: str, failure_type: str | None, duration_s: float | None
    ) -> None:
        pass

    def query_finished(self, duration_s: float) -> None:
        pass

    def watch_breaker(self, breaker: CircuitBreaker) -> None:
        pass

"""Prometheus collectors: names, buckets, multiprocess modes, breaker observation."""

from __future__ import annotations

import importlib

from prometheus_client import REGISTRY

from matriz.engine import metrics
from matriz.engine.breaker import BreakerConfig, CircuitBreaker
from matriz.engine.clock import ManualClock

EXPECTED = {
    "matriz_stage_total": ("counter", ["stage"]),
    "matriz_stage_fail_total": ("counter", ["stage", "type"]),
    "matriz_stage_duration_seconds": ("histogram", ["stage"]),
    "matriz_end_to_end_seconds": ("histogram", []),
    "matriz_breaker_state": ("gauge", ["node"]),
    "matriz_breaker_trips_total": ("counter", ["node"]),
    "matriz_memory_items": ("gauge", ["index"]),
    "matriz_memory_folds_total": ("counter", []),
}


def collector(name: str):
    return REGISTRY._names_to_collectors[name]


def test_it_registers_the_documented_collectors_on_the_default_registry() -> None:
    for name, (kind, labels) in EXPECTED.items():
        found = collector(name)
        assert found._type == kind, name
        assert list(found._labelnames) == labels, name


def test_it_survives_being_imported_twice() -> None:
    before = {name: collector(name) for name in EXPECTED}
    reloaded = importlib.reload(metrics)
    for name in EXPECTED:
        assert collector(name) is before[name]
    assert reloaded.STAGE_TOTAL is before["matriz_stage_total"]


def test_it_buckets_sub_millisecond_stages() -> None:
    assert metrics.STAGE_BUCKETS[0] == 0.00005
    assert sum(b < 0.001 for b in metrics.STAGE_BUCKETS) >= 4
    assert list(collector("matriz_stage_duration_seconds")._upper_bounds[:2]) == [0.00005, 0.0001]


def test_it_keeps_gauges_meaningful_across_processes() -> None:
    assert collector("matriz_breaker_state")._multiprocess_mode == "livemax"
    assert collector("matriz_memory_items")._multiprocess_mode == "livemax"


def test_it_mirrors_breaker_state_and_counts_trips() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        "test.metrics.node",
        BreakerConfig(minimum_number_of_calls=2, wait_duration_in_open_s=1),
        clock=clock,
    )
    recorder = metrics.PrometheusRecorder()
    recorder.watch_breaker(breaker)
    labels = {"node": "test.metrics.node"}

    def state() -> float | None:
        return REGISTRY.get_sample_value("matriz_breaker_state", labels)

    assert state() == 0
    breaker.record_failure(0.001)
    breaker.record_failure(0.001)
    assert state() == 2
    assert REGISTRY.get_sample_value("matriz_breaker_trips_total", labels) == 1
    clock.advance(1)
    assert breaker.is_call_permitted() and state() == 1
    for _ in range(3):
        breaker.acquire_permission()
        breaker.record_success(0.001)
    assert state() == 0
    assert REGISTRY.get_sample_value("matriz_breaker_trips_total", labels) == 1


def test_it_records_stage_figures_through_cached_children() -> None:
    recorder = metrics.PrometheusRecorder()
    labels = {"stage": "test-stage"}
    recorder.stage_finished("test-stage", None, 0.0002)
    recorder.stage_finished("test-stage", "timeout", 0.1)
    recorder.stage_finished("test-stage", "circuit_open", None)
    assert REGISTRY.get_sample_value("matriz_stage_total", labels) == 3
    assert REGISTRY.get_sample_value("matriz_stage_duration_seconds_count", labels) == 2
    assert (
        REGISTRY.get_sample_value(
            "matriz_stage_duration_seconds_bucket", {**labels, "le": "0.00025"}
        )
        == 1
    )
    assert (
        REGISTRY.get_sample_value(
            "matriz_stage_fail_total", {"stage": "test-stage", "type": "timeout"}
        )
        == 1
    )

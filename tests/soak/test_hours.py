"""Hours covered across a 48 h soak under time_machine: hours without data do not count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from soak import services
from soak.models import Phase, Snapshot
from soak.sources.base import SourceError
from tests.soak import scripted_source

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# The run's hours gate and one hourly (metrics) gate whose readings the test sets.
GATES = """
version: "hours"
gates:
  - id: soak-hours
    title: hours
    source: soak
    key: hours_covered
    comparator: ">="
    threshold: 48
  - id: traffic
    title: traffic
    source: metrics
    sli: stub
    query: stub
    comparator: ">="
    threshold: 0
"""


@pytest.fixture
def stubbed(monkeypatch, gates_file):
    gates_file(GATES)
    monkeypatch.setitem(services.runs.sources.SOURCES, "metrics", scripted_source.measure)
    monkeypatch.setattr(scripted_source, "READINGS", {})
    return scripted_source.READINGS


def snap(run, hours: float):
    with time_machine.travel(T0 + timedelta(hours=hours), tick=False):
        return services.snapshot_take(run=run, by_label="test")


def start(planned: int = 48):
    with time_machine.travel(T0, tick=False):
        return services.soak_start(release="v0.9.0-rc", planned_hours=planned)


def test_it_reaches_48_hours_with_hourly_complete_snapshots_and_succeeds(stubbed):
    run = start()
    for hour in range(1, 49):
        snap(run, hour)
        run.refresh_from_db()
        if hour < 48:
            assert run.phase == Phase.RUNNING, (hour, run.message)
    assert run.hours_covered == pytest.approx(48.0)
    assert run.phase == Phase.SUCCESSFUL, run.message
    assert run.ended_at == T0 + timedelta(hours=48)
    assert services.hours_covered(run) == pytest.approx(run.hours_covered)


def test_it_does_not_count_hours_without_data(stubbed):
    run = start()
    for hour in range(1, 49):
        # Hours 10-14: the traffic source has no data; hours 20-21: it errors.
        if 10 <= hour <= 14:
            stubbed["traffic"] = None
        elif hour in (20, 21):
            stubbed["traffic"] = SourceError("Prometheus down")
        else:
            stubbed["traffic"] = 1.0
        snap(run, hour)
    run.refresh_from_db()
    assert Snapshot.objects.filter(run=run, complete=False).count() == 7
    assert run.hours_covered == pytest.approx(41.0)
    assert run.phase == Phase.RUNNING  # 48 h elapsed, 41 with data: the soak goes on
    for hour in range(49, 56):
        snap(run, hour)
    run.refresh_from_db()
    assert run.hours_covered == pytest.approx(48.0)
    assert run.phase == Phase.SUCCESSFUL, run.message


def test_it_caps_a_gap_at_two_snapshot_intervals(stubbed):
    run = start()
    snap(run, 1)
    snap(run, 9)  # nobody watched for 8 h: the snapshot covers 2 h only
    run.refresh_from_db()
    assert run.hours_covered == pytest.approx(3.0)
    assert services.hours_covered(run) == pytest.approx(3.0)


def test_it_ends_out_of_time_when_the_hours_never_come(stubbed):
    run = start(planned=4)
    stubbed["traffic"] = None
    for hour in range(1, 9):
        snap(run, hour)
        run.refresh_from_db()
        if run.phase != Phase.RUNNING:
            break
    assert run.hours_covered == 0
    assert run.ended_at == T0 + timedelta(hours=8)  # twice the planned hours
    # The traffic gate is inconclusive, but the hours gate read 0 < 48: failed.
    assert run.phase == Phase.FAILED
    assert run.message.endswith("failed gates: soak-hours")

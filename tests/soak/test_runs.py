"""Soak runs: start, snapshot, abort, and the phase a run ends in."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from lukhas_site.errors import Conflict, InvalidRequest
from soak import selectors, services
from soak.models import GateResult, Phase, ReleaseStatus, SoakRun

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_it_starts_a_soak_with_the_gates_checksum(gates_file, alice):
    path = gates_file()
    run = services.soak_start(release="v0.9.0-rc", planned_hours=48, by=alice)
    assert run.phase == Phase.RUNNING
    assert run.release.version == "0.9.0"
    assert run.release.status == ReleaseStatus.SOAKING
    assert run.gates_version == "t1"
    assert run.gates_checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert run.started_by_label == "user:alice"


def test_it_refuses_a_second_soak(gates_file):
    services.soak_start(release="v0.9.0-rc")
    with pytest.raises(Conflict, match="already running"):
        services.soak_start(release="v0.9.1-rc")


def test_it_takes_a_snapshot_and_records_both_gate_rows(gates_file):
    with time_machine.travel(T0, tick=False):
        run = services.soak_start(release="v0.9.0-rc", planned_hours=2)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        snapshot = services.snapshot_take(run=run, by_label="test")
    assert snapshot.complete is True
    rows = GateResult.objects.filter(run=run)
    assert rows.filter(snapshot=snapshot).count() == 2
    standing = selectors.run_gate_results(run).get(gate_id="soak-hours")
    assert standing.value == pytest.approx(1.0)
    run.refresh_from_db()
    assert run.hours_covered == pytest.approx(1.0)
    assert run.phase == Phase.RUNNING
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        services.snapshot_take(run=run, by_label="test")
    run.refresh_from_db()
    # 2 h covered of 2 planned; the 48 h gate is failed: the run fails.
    assert run.phase == Phase.FAILED, run.message
    assert "soak-hours" in run.message


def test_it_aborts_with_a_reason(gates_file, bob):
    run = services.soak_start(release="v0.9.0-rc")
    with pytest.raises(InvalidRequest):
        services.soak_abort(run=run, by=bob, reason=" ")
    services.soak_abort(run=run, by=bob, reason="wrong build")
    run = SoakRun.objects.get(pk=run.pk)
    assert run.phase == Phase.ABORTED
    assert run.aborted_reason == "wrong build"
    with pytest.raises(Conflict):
        services.soak_abort(run=run, by=bob, reason="again")


def test_it_records_a_failed_source_as_error_with_the_declared_query(gates_file, monkeypatch):
    gates_file(
        """
        version: "e"
        gates:
          - id: smoke
            title: smoke
            source: probe
            probe: facade_smoke
            comparator: "=="
            threshold: 1
            max_consecutive_errors: 2
        """
    )
    monkeypatch.setitem(services.runs.sources.SOURCE_MODULES, "probe", "soak.sources.absent")
    with time_machine.travel(T0, tick=False):
        run = services.soak_start(release="v0.9.0-rc")
    for hour in (1, 2):
        with time_machine.travel(T0 + timedelta(hours=hour), tick=False):
            snapshot = services.snapshot_take(run=run)
    row = snapshot.gate_results.get()
    assert (row.phase, row.value) == (Phase.ERROR, None)
    assert row.query == "probe facade_smoke of http://127.0.0.1:9"
    assert "source 'probe' not installed" in row.message
    standing = selectors.run_gate_results(run).get()
    assert (standing.phase, standing.errors, standing.consecutive_errors) == (Phase.ERROR, 2, 2)
    assert snapshot.complete is False
    run.refresh_from_db()
    assert run.hours_covered == 0

"""The demo soak: real snapshots of a started run, not a made-up history."""

from __future__ import annotations

import pytest

from soak import demo
from soak.models import Phase, Snapshot, SoakRun

pytestmark = pytest.mark.django_db


def test_it_starts_a_soak_and_takes_real_snapshots(gates_file):
    lines: list[str] = []
    summary = demo.load_demo_soak(lines.append)
    run = SoakRun.objects.get()
    assert run.release.name == "v0.9.0-rc" and run.planned_hours == 48
    assert run.phase == Phase.RUNNING and run.started_by_label == "demo"
    snapshots = Snapshot.objects.filter(run=run)
    assert snapshots.count() == demo.DEMO_SNAPSHOTS
    # Taken now, by snapshot_take: every gate measured, not a backdated series.
    assert all(s.taken_by_label == "demo" for s in snapshots)
    assert all(s.gate_results.count() == 2 for s in snapshots)
    assert "running" in summary and len(lines) == 1 + demo.DEMO_SNAPSHOTS
    # Loading again while the soak runs adds nothing.
    assert "nothing added" in demo.load_demo_soak(lines.append)
    assert SoakRun.objects.count() == 1

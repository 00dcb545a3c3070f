"""Selectors the lists use: shapes and pinned query counts (whatever the number of rows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from soak import selectors, services
from soak.models import Phase

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def history(gates_file):
    """Three finished runs and a running one with snapshots."""
    for n in range(3):
        with time_machine.travel(T0 + timedelta(days=n), tick=False):
            run = services.soak_start(release=f"v0.{n}.0-rc")
            services.snapshot_take(run=run)
            services.soak_abort(run=run, by=None, reason="next")
    with time_machine.travel(T0 + timedelta(days=5), tick=False):
        run = services.soak_start(release="v0.9.0-rc")
    for hour in (1, 2, 3):
        with time_machine.travel(T0 + timedelta(days=5, hours=hour), tick=False):
            services.snapshot_take(run=run)
    return run


def test_it_lists_the_history_in_one_query(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        runs = list(selectors.runs_history())
        shown = [(r.release.name, r.phase, r.snapshot_count, r.complete_count) for r in runs]
    assert shown == [
        ("v0.9.0-rc", Phase.RUNNING, 3, 3),
        ("v0.2.0-rc", Phase.ABORTED, 1, 1),
        ("v0.1.0-rc", Phase.ABORTED, 1, 1),
        ("v0.0.0-rc", Phase.ABORTED, 1, 1),
    ]


def test_it_reads_the_gate_series_in_one_query(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        series = selectors.gate_series(history)
    assert set(series) == {"soak-hours", "no-page-alerts"}
    assert [p["value"] for p in series["soak-hours"]] == [1.0, 2.0, 3.0]
    assert [p["taken_at"] for p in series["soak-hours"]] == sorted(
        p["taken_at"] for p in series["soak-hours"]
    )


def test_it_reads_the_gate_table_and_snapshots_in_one_query_each(
    history, django_assert_num_queries
):
    with django_assert_num_queries(1):
        gates = [
            (g.gate_id, g.phase, g.successful + g.failed)
            for g in selectors.run_gate_results(history)
        ]
    assert gates == [("no-page-alerts", "successful", 3), ("soak-hours", "running", 0)]
    with django_assert_num_queries(1):
        assert len(list(selectors.run_snapshots(history, limit=2))) == 2


def test_it_finds_the_run_for_the_page(history, django_assert_num_queries):
    with django_assert_num_queries(1):
        run = selectors.run_for_page()
        assert run.release.name == "v0.9.0-rc"
    with django_assert_num_queries(1):
        assert selectors.active_run() == history
    assert selectors.run_for_page(release="v0.1.0-rc").phase == Phase.ABORTED

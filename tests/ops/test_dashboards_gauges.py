"""The coordination gauges the coordination dashboard reads, on /metrics at scrape time."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from coordination import services
from lukhas_site import metrics as site_metrics

pytestmark = pytest.mark.django_db


def samples(prefix: str = "lukhas_coordination_") -> dict[tuple, float]:
    text = site_metrics.render_latest()[0].decode()
    found = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith(prefix):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_it_counts_tasks_by_owner_and_status_with_zeros():
    codex = services.agent_create(name="Codex")
    services.task_create(by="system", key="OPS-1", title="one", owner=codex)
    done = services.task_create(by="system", key="OPS-2", title="two", owner=codex)
    services.task_transition(task=done, to="in_progress", by="system")
    services.task_create(by="system", key="OPS-3", title="three")
    got = samples()
    tasks = "lukhas_coordination_tasks"
    assert got[(tasks, (("owner", "Codex"), ("status", "todo")))] == 1
    assert got[(tasks, (("owner", "Codex"), ("status", "in_progress")))] == 1
    # Every status of an owner is a series: blocked reads 0, not "no data".
    assert got[(tasks, (("owner", "Codex"), ("status", "blocked")))] == 0
    assert got[(tasks, (("owner", "(unassigned)"), ("status", "todo")))] == 1
    assert sum(v for (name, _), v in got.items() if name == tasks) == 3


def test_it_splits_blocked_tasks_by_cause():
    blocker = services.task_create(by="system", key="OPS-1", title="first")
    waiting = services.task_create(by="system", key="OPS-2", title="second")
    services.task_add_dependency(blocker=blocker, blocked=waiting, by="system")
    marked = services.task_create(by="system", key="OPS-3", title="third")
    services.task_transition(task=marked, to="blocked", by="system", reason="waiting for infra")
    got = samples()
    assert got[("lukhas_coordination_blocked_tasks", (("cause", "status"),))] == 1
    assert got[("lukhas_coordination_blocked_tasks", (("cause", "dependency"),))] == 1
    # The blocker done: nothing waits any more.
    services.task_transition(task=blocker, to="in_progress", by="system")
    services.task_transition(task=blocker, to="done", by="system")
    assert samples()[("lukhas_coordination_blocked_tasks", (("cause", "dependency"),))] == 0


def test_it_exports_the_review_queue_by_reviewer():
    jules = services.agent_create(name="Jules")
    task = services.task_create(by="system", key="OPS-1", title="review me", reviewer=jules)
    assert not any(name == "lukhas_coordination_review_queue" for name, _ in samples())
    services.task_transition(task=task, to="in_progress", by="system")
    services.task_transition(task=task, to="in_review", by="system")
    task.refresh_from_db()
    got = samples()
    assert got[("lukhas_coordination_review_queue", (("reviewer", "Jules"),))] == 1
    oldest = got[("lukhas_coordination_review_oldest_timestamp_seconds", (("reviewer", "Jules"),))]
    assert oldest == pytest.approx(task.status_changed_at.timestamp())


def test_it_answers_a_scrape_when_the_database_cannot_be_read(monkeypatch):
    from coordination import selectors

    def broken():
        raise RuntimeError("database gone")

    monkeypatch.setattr(selectors, "board_figures", broken)
    text = site_metrics.render_latest()[0].decode()  # the scrape itself does not fail
    assert "lukhas_coordination_tasks " not in text and not samples()

"""Exports against their documented schema, the snapshot command, the beat job."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command

from coordination import services
from coordination.exports import (
    DAILY_REPORT,
    DASHBOARD,
    TASK_STATUS,
    TASK_STATUS_V2,
    export_bundle,
)
from coordination.models import Snapshot, Task
from coordination.services.plan_import import plan_import_data
from coordination.tasks import snapshot_slot, take_snapshot
from tests.coordination import schema_check
from tests.coordination.conftest import COORDINATION_PLAN, REPO_ROOT, T4_PLAN

SCHEMA_PATH = REPO_ROOT / "docs" / "schemas" / "task_status.v1.json"


@pytest.fixture
def schema() -> dict:
    return schema_check.load(SCHEMA_PATH)


@pytest.fixture
def plans(db):
    for path in (COORDINATION_PLAN, T4_PLAN):
        plan_import_data(data=path.read_bytes(), source_name=path.name, by="test")


def some_progress(alice, claude_code) -> None:
    """Work on the board: moves, a blocked task, a critical review in review and approved."""
    first = Task.objects.get(key="#1")
    services.task_transition(task=first, to="in_progress", by=alice)
    services.task_transition(task=first, to="done", by=alice)
    log_redaction = Task.objects.get(key="C")
    services.task_transition(
        task=log_redaction, to="blocked", by=alice, reason="Redis | staging down"
    )
    b = Task.objects.get(key="B")
    services.task_transition(task=b, to="in_review", by=alice)
    services.task_update(task=b, by=alice, reviewer=claude_code)
    services.task_approve(task=b, by=claude_code)
    services.task_transition(task=Task.objects.get(key="#3"), to="in_review", by=alice)


# --------------------------------------------------------------------------- schema


def test_it_documents_a_valid_versioned_schema(schema):
    assert schema["$id"].endswith("/task_status.v1.json")
    assert schema["properties"]["schema_version"] == {"const": 1}
    assert schema_check.errors({}, schema)  # the checker does check


def test_it_exports_task_status_that_matches_its_schema(plans, schema, alice, claude_code):
    some_progress(alice, claude_code)
    snapshot, _ = services.snapshot_take()
    document = json.loads(export_bundle(snapshot=snapshot).files[TASK_STATUS])
    assert schema_check.errors(document, schema) == []
    assert document["snapshot"]["id"] == snapshot.pk
    assert document["totals"]["tasks"] == 43
    assert document["totals"]["by_status"] == {
        "todo": 39,
        "in_progress": 0,
        "in_review": 2,
        "blocked": 1,
        "done": 1,
        "cancelled": 0,
    }
    tasks = {t["key"]: t for t in document["tasks"]}
    assert tasks["B"]["approved_by"] == "Claude Code"
    assert tasks["B"]["blocks"] == ["CC-3"]
    assert tasks["CC-5"]["depends_on"] == ["#1", "#3", "#4"]
    assert tasks["CC-5"]["waits_for"] == ["#3", "#4"]  # #1 is done
    assert tasks["#2"]["collaborators"] == ["Copilot"]
    assert tasks["CC-1"]["acceptance"]["total"] == 3
    assert tasks["C"]["blocked_reason"] == "Redis | staging down"
    assert tasks["4.metrics"]["owner"] is None
    assert document["critical_path"] == {"hours": 4.0, "tasks": ["B", "CC-3"]}


def test_it_exports_a_live_board_without_a_snapshot(plans, schema):
    bundle = export_bundle()
    document = json.loads(bundle.files[TASK_STATUS])
    assert schema_check.errors(document, schema) == []
    assert document["snapshot"]["id"] is None
    assert not Snapshot.objects.exists()


def test_it_catches_a_document_that_drifts_from_the_schema(plans, schema):
    document = json.loads(export_bundle().files[TASK_STATUS])
    document["tasks"][0]["status"] = "doing"
    del document["tasks"][1]["owner"]
    document["totals"]["surprise"] = 1
    problems = schema_check.errors(document, schema)
    assert "$.tasks[0].status: 'doing' is not one of" in problems[1]
    assert "$.tasks[1]: missing required 'owner'" in problems
    assert "$.totals: unexpected property 'surprise'" in problems


# --------------------------------------------------------------------------- markdown


def test_it_writes_a_dashboard_with_status_owner_blockers_and_review_tables(
    plans, alice, claude_code
):
    some_progress(alice, claude_code)
    dashboard = export_bundle().files[DASHBOARD]
    assert dashboard.startswith("# Coordination dashboard\n")
    assert "| Blocked | 1 | C |" in dashboard
    assert "| In review | 2 | #3, B |" in dashboard
    assert "| Codex | 9 | 0 | 2 | 1 | 1 | 0 | 15.75 |" in dashboard
    assert "| C: Log Redaction v2 | Blocked | Redis \\| staging down | 0 |" in dashboard
    assert (
        "| CC-5: OpenAPI Parity Validation (Post-Tasks #1, #3, #4) | To do | waits for #3, #4 |"
        in dashboard
    )
    review = dashboard.split("## Ready for review")[1].split("##")[0]
    assert review.index("| B: Circuit-Breaker to MATRIZ | Codex | Claude Code | yes | yes |") < (
        review.index("| #3: Streaming RL Headers (SSE) | Codex | Claude Code | no | no |")
    )
    assert "## Critical path (4 h)\n\nB (3 h) → CC-3 (1 h)" in dashboard


def test_it_reports_what_changed_since_the_previous_snapshot(plans, alice, claude_code):
    with time_machine.travel(datetime(2025, 10, 15, 8, 0, tzinfo=UTC), tick=False):
        first, _ = services.snapshot_take()
    with time_machine.travel(datetime(2025, 10, 15, 10, 0, tzinfo=UTC), tick=False):
        some_progress(alice, claude_code)
        plan_import_data(
            data="# Extra\n\n### Task CC-7: New one\n\n**Owner**: Codex\n",
            source_name="extra.md",
            by="test",
        )
    with time_machine.travel(datetime(2025, 10, 15, 13, 0, tzinfo=UTC), tick=False):
        second, _ = services.snapshot_take()
    report = export_bundle(snapshot=second).files[DAILY_REPORT]
    assert report.startswith("# Daily coordination report — 2025-10-15\n")
    assert (
        f"What changed from snapshot #{first.pk} (2025-10-15 08:00 UTC) "
        f"to snapshot #{second.pk} (2025-10-15 13:00 UTC)."
    ) in report
    assert "| Tasks | 43 | 44 | +1 |" in report
    assert "| Done | 0 | 1 | +1 |" in report
    assert "| #1 | To do | Done |" in report
    assert "| C | To do | Blocked |" in report
    assert "## New tasks\n\nCC-7" in report
    assert "| 2025-10-15 10:00 UTC | B | Claude Code | approval |  | approved by Claude Code |" in (
        report
    )
    assert "| 2025-10-15 10:00 UTC | #1 | alice | status | in_progress | done |" in report


def test_it_writes_the_three_files_from_the_command(plans, tmp_path, schema, capsys):
    call_command("coord_snapshot", "--out", str(tmp_path))
    out = capsys.readouterr().out
    snapshot = Snapshot.objects.get()
    assert f"snapshot #{snapshot.pk}: 43 tasks, 43 open, 0 done" in out
    assert {p.name for p in tmp_path.iterdir()} == {
        TASK_STATUS,
        TASK_STATUS_V2,
        DASHBOARD,
        DAILY_REPORT,
        "reports",
    }
    document = json.loads((tmp_path / TASK_STATUS).read_text())
    assert schema_check.errors(document, schema) == []
    assert (tmp_path / DAILY_REPORT).read_text().startswith("# Daily coordination report")
    assert len(list((tmp_path / "reports").iterdir())) == 1


# --------------------------------------------------------------------------- the beat job


def test_it_schedules_the_snapshot_three_times_a_day():
    entries = {
        name: entry
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if entry["task"] == "coordination.take_snapshot"
    }
    assert sorted(entries) == [
        "coordination-snapshot-0800",
        "coordination-snapshot-1300",
        "coordination-snapshot-1800",
    ]
    assert entries["coordination-snapshot-1300"]["schedule"] == crontab(hour=13, minute=0)
    assert take_snapshot.name == "coordination.take_snapshot"
    assert take_snapshot.acks_late is True


def test_it_reads_the_snapshot_times_from_the_environment(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    import lukhas_site.settings as site_settings

    monkeypatch.setenv("LUKHAS_COORD_SNAPSHOT_TIMES", "07:30, 19:05")
    assert site_settings._coordination_times("LUKHAS_COORD_SNAPSHOT_TIMES", []) == [
        (7, 30),
        (19, 5),
    ]
    monkeypatch.setenv("LUKHAS_COORD_SNAPSHOT_TIMES", "7pm")
    with pytest.raises(ImproperlyConfigured, match="'7pm' is not a time like 08:00"):
        site_settings._coordination_times("LUKHAS_COORD_SNAPSHOT_TIMES", [])


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (datetime(2025, 10, 15, 8, 0, 0, 300, tzinfo=UTC), "2025-10-15T08:00Z"),
        (datetime(2025, 10, 15, 8, 4, tzinfo=UTC), "2025-10-15T08:00Z"),
        (datetime(2025, 10, 15, 17, 59, tzinfo=UTC), "2025-10-15T13:00Z"),
        (datetime(2025, 10, 15, 7, 0, tzinfo=UTC), "2025-10-14T18:00Z"),
    ],
)
def test_it_finds_the_slot_a_run_stands_for(now, slot):
    assert snapshot_slot(now, [(8, 0), (13, 0), (18, 0)]) == slot


def test_it_takes_one_snapshot_per_slot_however_often_it_runs(plans, settings, tmp_path):
    settings.COORDINATION_EXPORT_DIR = tmp_path
    with time_machine.travel(datetime(2025, 10, 15, 13, 2, tzinfo=UTC), tick=False):
        first = take_snapshot.apply().get()
        again = take_snapshot.apply().get()  # a redelivery (acks_late) or a second beat
    assert first["created"] and not again["created"]
    assert first["slot"] == again["slot"] == "2025-10-15T13:00Z"
    assert first["snapshot"] == again["snapshot"]
    assert Snapshot.objects.count() == 1
    assert (tmp_path / TASK_STATUS).exists()


@pytest.mark.timeout(180)
def test_it_takes_the_snapshot_in_a_real_worker(celery_worker, tmp_path):
    plan_import_data(data=COORDINATION_PLAN.read_bytes(), source_name="plan.md", by="test")
    result = take_snapshot.apply_async(kwargs={"slot": "2025-10-15T08:00Z", "write_files": False})
    outcome = result.get(timeout=90)
    assert outcome["created"] is True
    snapshot = Snapshot.objects.get(pk=outcome["snapshot"])
    assert (snapshot.slot, snapshot.task_count) == ("2025-10-15T08:00Z", 21)

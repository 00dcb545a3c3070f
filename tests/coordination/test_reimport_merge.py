"""Re-import is a three-way merge (issue 15 item 6).

The base is what the plan said at the last import (``Task.imported_fields``): a
field the board changed since stays; one the plan changed (and the board did
not) takes the plan's value; both changed is a conflict, reported in the dry
run and the real run, the board's value kept unless ``--prefer-plan`` (the
form's checkbox, the API's ``prefer_plan``). A renamed heading with the same id
updates its task; an unchanged task writes no event.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from coordination import services
from coordination.models import Task, TaskEvent
from coordination.services.plan_import import plan_import_data

pytestmark = pytest.mark.django_db

API = "/api/coordination"

V1 = """# Merge plan

### E1) Wire the facade
**Owner:** Codex
**Priority:** high
**Estimate:** 2h

### E2) Pin the lock
**Owner:** Codex
**Estimate:** 1h
**Status:** in progress
"""

# E1: owner and estimate changed by the plan; heading renamed. E2: unchanged.
V2 = """# Merge plan

### E1) Wire the OpenAI facade
**Owner:** Jules
**Priority:** high
**Estimate:** 3h

### E2) Pin the lock
**Owner:** Codex
**Estimate:** 1h
**Status:** in progress
"""


def imp(text: str, **kwargs):
    return plan_import_data(data=text, source_name="merge.md", by="test", **kwargs)


@pytest.fixture
def imported():
    report = imp(V1)
    assert report.keys("created") == ["E1", "E2"], report.warnings
    return report


def edit_on_board(key: str, **changes):
    task = Task.objects.get(key=key)
    return services.task_update(task=task, by="alice", **changes)


def test_it_records_what_the_plan_said(imported):
    e1 = Task.objects.get(key="E1")
    assert e1.imported_fields["owner"] == "Codex"
    assert e1.imported_fields["estimate_max_hours"] == 2.0
    assert e1.imported_fields["status"] == "todo"


def test_an_unchanged_reimport_writes_no_event(imported):
    events = TaskEvent.objects.count()
    updated = {t.pk: t.updated_at for t in Task.objects.all()}
    report = imp(V1)
    assert report.keys("unchanged") == ["E1", "E2"]
    assert TaskEvent.objects.count() == events
    assert {t.pk: t.updated_at for t in Task.objects.all()} == updated


def test_a_board_edit_stays_when_the_plan_did_not_change_that_field(imported):
    edit_on_board("E2", estimate_max_hours=4.0, estimate_min_hours=4.0)
    services.task_transition(task=Task.objects.get(key="E2"), to="in_review", by="alice")
    report = imp(V1)
    assert report.keys("unchanged") == ["E1", "E2"]
    assert report.conflicts() == []
    e2 = Task.objects.get(key="E2")
    assert (e2.estimate_max_hours, e2.status) == (4.0, "in_review")


def test_the_plan_wins_where_only_the_plan_changed_and_a_renamed_heading_updates(imported):
    report = imp(V2)
    assert report.keys("created") == []
    assert report.keys("updated") == ["E1"]
    e1 = Task.objects.get(key="E1")
    assert (e1.title, e1.owner.name, e1.estimate_max_hours) == (
        "Wire the OpenAI facade",
        "Jules",
        3.0,
    )
    assert Task.objects.count() == 2


@pytest.mark.parametrize("dry_run", [True, False])
def test_both_changed_is_a_conflict_and_the_board_keeps_its_value(imported, dry_run):
    edit_on_board("E1", owner=services.agent_resolve("Copilot").agent)
    report = imp(V2, dry_run=dry_run)
    assert report.conflicts() == [
        {
            "key": "E1",
            "line": report.conflicts()[0]["line"],
            "field": "owner",
            "plan": "Jules",
            "board": "Copilot",
            "imported": "Codex",
        }
    ]
    assert "1 tasks with conflicts (the board's value kept)" in report.summary()
    change = next(t for t in report.tasks if t.key == "E1")
    assert "owner" not in change.changes
    assert change.changes["estimate_max_hours"] == [2.0, 3.0]  # only the plan changed it
    e1 = Task.objects.get(key="E1")
    assert e1.owner.name == "Copilot"
    assert e1.estimate_max_hours == (2.0 if dry_run else 3.0)
    if not dry_run:  # the base is now what the plan says: the same plan again is quiet
        assert e1.imported_fields["owner"] == "Jules"
        assert imp(V2).conflicts() == []
        assert Task.objects.get(key="E1").owner.name == "Copilot"


def test_prefer_plan_takes_the_plans_value_from_the_command_line(imported, tmp_path):
    edit_on_board("E1", owner=services.agent_resolve("Copilot").agent)
    path = tmp_path / "merge.md"
    path.write_text(V2, encoding="utf-8")
    out = io.StringIO()
    call_command("import_plan", str(path), "--dry-run", stdout=out)
    assert "conflict  E1" in out.getvalue() and "board's value kept" in out.getvalue()
    assert Task.objects.get(key="E1").owner.name == "Copilot"
    out = io.StringIO()
    call_command("import_plan", str(path), "--prefer-plan", stdout=out)
    assert "plan's value taken" in out.getvalue()
    assert Task.objects.get(key="E1").owner.name == "Jules"


def test_a_status_moved_on_the_board_and_in_the_plan_is_a_conflict(imported):
    services.task_transition(
        task=Task.objects.get(key="E2"), to="blocked", by="alice", reason="waiting for the vendor"
    )
    report = imp(V1.replace("**Status:** in progress", "**Status:** done"))
    assert [c["field"] for c in report.conflicts()] == ["status"]
    assert Task.objects.get(key="E2").status == "blocked"


def test_the_form_and_the_api_take_prefer_plan(imported, client, coordinator, api_key_headers):
    edit_on_board("E1", owner=services.agent_resolve("Copilot").agent)
    writer = api_key_headers(scopes=["ops:read", "ops:write"])
    dry = client.post(
        f"{API}/imports",
        {"file": SimpleUploadedFile("merge.md", V2.encode()), "dry_run": "true"},
        headers=writer,
    ).json()
    assert [(c["key"], c["field"]) for c in dry["conflicts"]] == [("E1", "owner")]
    assert dry["prefer_plan"] is False and dry["counts"]["conflicts"] == 1
    client.force_login(coordinator)
    page = client.post(
        reverse("coordination-import"),
        {"file": SimpleUploadedFile("merge.md", V2.encode()), "dry_run": "on"},
    ).content.decode()
    assert 'id="import-conflicts"' in page and "the board&#x27;s" in page
    taken = client.post(
        f"{API}/imports",
        {"file": SimpleUploadedFile("merge.md", V2.encode()), "prefer_plan": "true"},
        headers=writer,
    ).json()
    assert taken["prefer_plan"] is True
    assert Task.objects.get(key="E1").owner.name == "Jules"
    edit_on_board("E1", owner=services.agent_resolve("Copilot").agent)
    client.post(
        reverse("coordination-import"),
        {"file": SimpleUploadedFile("merge.md", V1.encode()), "prefer_plan": "on"},
    )
    assert Task.objects.get(key="E1").owner.name == "Codex"

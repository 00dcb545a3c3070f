"""The coordination ops API: who may do what, and the same rules as everywhere else."""

from __future__ import annotations

import json

import pytest
from django.db.models import Q

from coordination import services
from coordination.models import Snapshot, Task, TaskEvent
from coordination.services.plan_import import plan_import_data
from tests.coordination import schema_check
from tests.coordination.conftest import COORDINATION_PLAN, FIXTURE_PLANS, REPO_ROOT, T4_PLAN

pytestmark = pytest.mark.django_db

API = "/api/coordination"


@pytest.fixture
def plans(db):
    for path in (COORDINATION_PLAN, T4_PLAN):
        plan_import_data(data=path.read_bytes(), source_name=path.name, by="test")


@pytest.fixture
def reader(api_key_headers):
    return api_key_headers(scopes=["ops:read"])


@pytest.fixture
def writer(api_key_headers):
    return api_key_headers(scopes=["ops:read", "ops:write"])


# --------------------------------------------------------------------------- who may


def test_it_refuses_an_anonymous_caller(client, plans):
    response = client.get(f"{API}/tasks")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_it_refuses_charlie_the_outsider_naming_the_permission(client, charlie, plans):
    client.force_login(charlie)
    response = client.get(f"{API}/tasks")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "You need the 'coordination.view_task' permission (scope 'ops:read') for this operation."
    )
    response = client.post(
        f"{API}/tasks/A/transition", {"to": "in_progress"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "coordination.change_task" in response.json()["error"]["message"]
    assert Task.objects.get(key="A").status == "todo"


def test_it_lets_a_read_key_read_but_not_write(client, reader, plans):
    listing = client.get(f"{API}/tasks", headers=reader)
    assert listing.status_code == 200
    assert listing.json()["count"] == 43
    response = client.post(
        f"{API}/tasks/A/transition",
        {"to": "in_progress"},
        content_type="application/json",
        headers=reader,
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "insufficient_permissions",
        "message": "This API key lacks the 'ops:write' scope required for this operation "
        "(it has: ops:read).",
        "param": "ops:write",
    }
    assert Task.objects.get(key="A").status == "todo"


def test_it_refuses_a_key_without_any_coordination_scope(client, api_key_headers, plans):
    response = client.get(f"{API}/tasks", headers=api_key_headers(scopes=["models:read"]))
    assert response.status_code == 403
    assert "lacks the 'ops:read' scope" in response.json()["error"]["message"]


# --------------------------------------------------------------------------- reads


def test_it_lists_tasks_with_the_boards_filters_and_pages(client, reader, plans):
    codex = client.get(f"{API}/tasks", {"owner": "@codex", "page_size": 5}, headers=reader).json()
    assert codex["count"] == 13
    assert [t["key"] for t in codex["items"]] == [
        "#1",
        "#2",
        "#3",
        "#4",
        "6.cognitive-ai-ai-cognitive",
    ]
    page_3 = client.get(
        f"{API}/tasks", {"owner": "codex", "page_size": 5, "page": 3}, headers=reader
    ).json()
    assert [t["key"] for t in page_3["items"]] == ["E402-1", "F", "Safe-1"]
    filtered = client.get(
        f"{API}/tasks", {"priority": ["high", "critical"], "risk": "low"}, headers=reader
    ).json()
    assert sorted(t["key"] for t in filtered["items"]) == ["#1", "#2", "#5", "H"]
    unknown = client.get(
        f"{API}/tasks", {"priority": ["unknown", "critical"], "page_size": 100}, headers=reader
    ).json()
    expected = Task.objects.filter(Q(priority__isnull=True) | Q(priority="critical"))
    assert unknown["count"] == expected.count()
    assert {t["priority"] for t in unknown["items"]} == {None, "critical"}
    waiting = client.get(f"{API}/tasks", {"blocked": "true"}, headers=reader).json()
    assert sorted(t["key"] for t in waiting["items"]) == ["CC-1", "CC-3", "CC-4", "CC-5"]
    bad = client.get(f"{API}/tasks", {"status": "doing"}, headers=reader)
    assert bad.status_code == 422
    assert bad.json()["error"]["message"].startswith(
        "status[0]: Input should be 'todo', 'in_progress'"
    )


def test_it_shows_one_task_with_everything_about_it(client, reader, plans):
    task = client.get(f"{API}/tasks/%232", headers=reader).json()
    assert task["key"] == "#2"
    assert (task["owner"], task["collaborators"], task["reviewer"]) == (
        "Codex",
        ["Copilot"],
        "Claude Code",
    )
    assert task["requires_critical_review"] is True
    assert task["blocks"] == ["CC-4"]
    assert task["source_plan"] == COORDINATION_PLAN.name
    assert client.get(f"{API}/tasks/2", headers=reader).json()["key"] == "#2"
    cc1 = client.get(f"{API}/tasks/CC-1", headers=reader).json()
    assert next(a["text"] for a in cc1["acceptance"]) == "All 4 guardrails pass"
    assert cc1["depends_on"] == ["#1"]
    missing = client.get(f"{API}/tasks/ZZ-9", headers=reader)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "No task has the key 'ZZ-9'."


def test_it_lists_agents_with_their_aliases(client, reader, plans):
    agents = client.get(f"{API}/agents", headers=reader).json()
    assert [a["name"] for a in agents] == ["Claude Code", "Codex", "Copilot", "Jules"]
    assert agents[1]["aliases"] == ["Codex"]


# --------------------------------------------------------------------------- writes


def test_it_creates_a_task_and_signs_events_with_the_key(client, writer, plans):
    response = client.post(
        f"{API}/tasks",
        {
            "key": "CC-7",
            "title": "Wire the snapshot job",
            "owner": "ChatGPT CODEX",
            "collaborators": ["GitHub Copilot"],
            "reviewer": "@claude-code",
            "priority": "high",
            "estimate_min_hours": 1,
            "estimate_max_hours": 2,
            "depends_on": ["CC-2"],
            "acceptance": ["Snapshot runs at 08:00"],
        },
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["owner"], body["collaborators"], body["reviewer"]) == (
        "Codex",
        ["Copilot"],
        "Claude Code",
    )
    # A task without a plan names a plan's task with its plan (PLAN:KEY).
    assert body["depends_on"] == ["coordination-task-assignments:CC-2"]
    assert (body["plan"], body["ref"]) == (None, body["key"])
    assert body["acceptance"][0]["text"] == "Snapshot runs at 08:00"
    event = TaskEvent.objects.get(task__key="CC-7", field="created")
    assert event.actor.startswith("api-key:lk-")
    again = client.post(
        f"{API}/tasks",
        {"key": "CC-7", "title": "x"},
        content_type="application/json",
        headers=writer,
    )
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "A task with the key 'CC-7' exists already."


def test_it_updates_through_the_rules(client, writer, plans):
    url = f"{API}/tasks/CC-1"
    refused = client.patch(
        url,
        {"status": "in_progress", "owner": "Jules"},
        content_type="application/json",
        headers=writer,
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == {
        "code": "blocked_by_dependencies",
        "message": "CC-1 cannot start: it is blocked by #1 (to do). "
        "Finish those first, or remove the dependency.",
        "param": "to",
        # The same details the board's JSON answer carries (one renderer).
        "details": {"blocked_by": ["#1"]},
    }
    blocked = client.patch(
        url, {"status": "blocked"}, content_type="application/json", headers=writer
    )
    assert blocked.json()["error"]["message"] == (
        "Say why CC-1 is blocked: a blocked task needs a reason."
    )
    done = client.patch(
        url,
        {"status": "blocked", "reason": "waits for #1"},
        content_type="application/json",
        headers=writer,
    )
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["blocked_reason"]) == ("blocked", "waits for #1")
    # The refused call changed nothing, not even the owner it also asked for.
    assert done.json()["owner"] == "Claude Code"
    assert not TaskEvent.objects.filter(task__key="CC-1", field="owner").exists()


def test_it_transitions_approves_and_checks_acceptance(client, writer, coordinator, plans):
    b = Task.objects.get(key="B")
    step = client.post(
        f"{API}/tasks/B/transition",
        {"to": "in_review"},
        content_type="application/json",
        headers=writer,
    )
    assert step.json()["status"] == "in_review"
    approve = client.post(f"{API}/tasks/B/approve", headers=writer)
    assert approve.status_code == 422
    assert approve.json()["error"]["message"].startswith("Only Claude Code, the reviewer of B")
    services.agent_resolve("Claude Code").agent.__class__.objects.filter(name="Claude Code").update(
        user=coordinator
    )
    client.force_login(coordinator)
    approved = client.post(f"{API}/tasks/B/approve")
    assert approved.status_code == 200, approved.content
    assert approved.json()["approved_by"] == "Claude Code"
    finished = client.post(
        f"{API}/tasks/B/transition", {"to": "done"}, content_type="application/json"
    )
    assert finished.json()["status"] == "done"
    assert b.events.filter(field="status", to_value="done", user=coordinator).exists()
    cc1 = client.get(f"{API}/tasks/CC-1").json()
    item = cc1["acceptance"][1]
    ticked = client.patch(
        f"{API}/tasks/CC-1/acceptance/{item['id']}", {"done": True}, content_type="application/json"
    )
    assert ticked.json()["acceptance"][1]["done"] is True


def test_it_adds_and_removes_dependencies_refusing_cycles(client, writer, plans):
    cycle = client.post(
        f"{API}/tasks/%231/dependencies",
        {"blocker": "CC-1"},
        content_type="application/json",
        headers=writer,
    )
    assert cycle.status_code == 422
    assert cycle.json()["error"]["message"] == (
        "CC-1 cannot block #1: that would close the cycle CC-1 → #1 → CC-1. "
        "Remove one of those dependencies first."
    )
    added = client.post(
        f"{API}/tasks/CC-6/dependencies",
        {"blocker": "CC-5"},
        content_type="application/json",
        headers=writer,
    )
    assert added.status_code == 201
    assert added.json()["depends_on"] == ["CC-5"]
    removed = client.delete(f"{API}/tasks/CC-6/dependencies/CC-5", headers=writer)
    assert removed.json()["depends_on"] == []
    assert client.delete(f"{API}/tasks/CC-6/dependencies/CC-5", headers=writer).status_code == 404
    unknown = client.post(
        f"{API}/tasks/CC-6/dependencies",
        {"blocker": "NOPE"},
        content_type="application/json",
        headers=writer,
    )
    assert (unknown.status_code, unknown.json()["error"]["param"]) == (400, "blocker")


# --------------------------------------------------------------------------- import, exports


def test_it_imports_an_uploaded_plan(client, writer):
    with COORDINATION_PLAN.open("rb") as fh:
        dry = client.post(f"{API}/imports", {"file": fh, "dry_run": "true"}, headers=writer)
    assert dry.status_code == 200, dry.content
    assert (dry.json()["dry_run"], dry.json()["counts"]["created"]) == (True, 21)
    assert not Task.objects.exists()
    with COORDINATION_PLAN.open("rb") as fh:
        real = client.post(f"{API}/imports", {"file": fh}, headers=writer)
    assert real.json()["counts"]["created"] == 21
    assert len(real.json()["tasks"]) == 21
    assert Task.objects.count() == 21


def test_it_refuses_a_garbled_upload_with_its_line(client, writer):
    with (FIXTURE_PLANS / "garbled-plan.md").open("rb") as fh:
        response = client.post(f"{API}/imports", {"file": fh}, headers=writer)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "plan_invalid",
        "message": "line 12: table row has 5 cells but the header has 8",
        "param": "file",
        "details": {"line": 12},
    }
    assert not Task.objects.exists()


def test_it_needs_the_add_permission_to_import(client, reader):
    with COORDINATION_PLAN.open("rb") as fh:
        response = client.post(f"{API}/imports", {"file": fh}, headers=reader)
    assert response.status_code == 403


def test_it_serves_the_exports(client, reader, plans):
    response = client.get(f"{API}/exports/task_status.json", headers=reader)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    schema = schema_check.load(REPO_ROOT / "docs" / "schemas" / "task_status.v1.json")
    assert schema_check.errors(json.loads(response.content), schema) == []
    dashboard = client.get(f"{API}/exports/COORDINATION_DASHBOARD.md", headers=reader)
    assert dashboard.content.decode().startswith("# Coordination dashboard")
    missing = client.get(f"{API}/exports/nope.csv", headers=reader)
    assert missing.status_code == 404
    assert (
        "there are: task_status.json, task_status.v2.json, "
        "COORDINATION_DASHBOARD.md, daily_report.md" in (missing.json()["error"]["message"])
    )


def test_it_takes_and_lists_snapshots(client, reader, writer, plans):
    assert client.post(f"{API}/snapshots", headers=reader).status_code == 403
    taken = client.post(f"{API}/snapshots", headers=writer)
    assert taken.status_code == 201
    assert taken.json()["task_count"] == 43
    listing = client.get(f"{API}/snapshots", headers=reader).json()
    assert listing["count"] == 1
    assert listing["items"][0]["id"] == Snapshot.objects.get().pk

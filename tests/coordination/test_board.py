"""The board page: columns, filters, panels, charts, moves, uploads, downloads, queries."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from coordination import services
from coordination.models import Task, TaskEvent
from coordination.services.plan_import import plan_import_data
from tests.coordination.boards import BoardSize, build_board
from tests.coordination.conftest import COORDINATION_PLAN, FIXTURE_PLANS, T4_PLAN, grant

pytestmark = pytest.mark.django_db

BOARD = reverse("coordination")
# The queries of one board page, whatever the number of tasks: session, user, the
# user's permissions (2), the filtered ids, the full rows of the cards shown, one
# light row per task, the dependency edges, agents, tracks, snapshots and plan gates.
BOARD_QUERIES = 12
# The API list: session, user, permissions (2), count, the page of tasks, and one
# prefetch each for collaborators, dependencies, dependents and acceptance items.
API_LIST_QUERIES = 10


@pytest.fixture
def plans(db):
    for path in (COORDINATION_PLAN, T4_PLAN):
        plan_import_data(data=path.read_bytes(), source_name=path.name, by="test")


def move_url(task: Task) -> str:
    return reverse("coordination-task-move", args=[task.pk])


def fetch_move(client: Client, task: Task, to: str, reason: str = ""):
    return client.post(
        move_url(task), {"to": to, "reason": reason}, headers={"X-Requested-With": "fetch"}
    )


# --------------------------------------------------------------------------- rendering


def test_it_renders_columns_panels_and_charts(alice_client, coordinator, plans):
    services.task_transition(
        task=Task.objects.get(key="C"), to="blocked", by=coordinator, reason="staging Redis is down"
    )
    services.task_transition(task=Task.objects.get(key="B"), to="in_review", by=coordinator)
    services.snapshot_take()
    response = alice_client.get(BOARD)
    html = response.content.decode()
    assert response.status_code == 200
    columns = {c.status: c for c in response.context["board"].columns}
    assert (columns["todo"].total, columns["blocked"].total, columns["in_review"].total) == (
        41,
        1,
        1,
    )
    assert [c.task.key for c in columns["blocked"].cards] == ["C"]
    blockers = [b.task.key for b in response.context["board"].blockers]
    assert blockers[0] in ("CC-1", "CC-3", "CC-4", "CC-5", "C")
    assert set(blockers) == {"C", "CC-1", "CC-3", "CC-4", "CC-5"}
    assert "staging Redis is down" in html
    assert [c.task.key for c in response.context["board"].review_ready] == ["B"]
    assert [t.key for t in response.context["board"].critical_path] == ["B", "CC-3"]
    for figure in ("fig-owner-status", "fig-burn", "fig-remaining"):
        assert f'<script type="application/json" id="{figure}">' in html
    chart = html.split('id="fig-owner-status">')[1].split("</script>")[0]
    assert {trace["name"] for trace in json.loads(chart)["data"]} == {
        "To do",
        "In review",
        "Blocked",
    }
    assert "/static/vendor/plotly.min.js" in html
    assert "cdn." not in html.lower()
    for name in ("task_status.json", "COORDINATION_DASHBOARD.md", "daily_report.md"):
        assert reverse("coordination-export", args=[name]) in html


def test_it_orders_blockers_by_how_much_they_hold_up(alice_client, coordinator, make_task):
    root = make_task("ROOT", status="blocked", blocked_reason="vendor")
    make_task("LEAF", status="blocked", blocked_reason="creds")
    chain = [make_task(f"N{i}") for i in range(3)]
    services.task_add_dependency(blocker=root, blocked=chain[0], by="t")
    services.task_add_dependency(blocker=chain[0], blocked=chain[1], by="t")
    services.task_add_dependency(blocker=chain[1], blocked=chain[2], by="t")
    board = alice_client.get(BOARD).context["board"]
    assert [(b.task.key, b.holds_up) for b in board.blockers] == [
        ("ROOT", 3),
        ("N0", 2),
        ("N1", 1),
        ("LEAF", 0),
        ("N2", 0),
    ]


def test_it_filters_the_board_by_owner_track_priority_and_risk(alice_client, coordinator, plans):
    codex = alice_client.get(BOARD, {"owner": "@codex"}).context["board"]
    assert codex.visible_count == 13
    assert all(c.task.owner.name == "Codex" for col in codex.columns for c in col.cards)
    high = alice_client.get(BOARD, {"owner": "codex", "priority": "high"}).context["board"]
    assert sorted(c.task.key for col in high.columns for c in col.cards) == ["#1", "#2", "B"]
    track = Task.objects.get(key="E402-1").track
    hygiene = alice_client.get(BOARD, {"track": track.pk}).context["board"]
    assert hygiene.visible_count == 2
    assert (
        alice_client.get(BOARD, {"risk": "medium", "owner": "Codex"}).context["board"].visible_count
        == 1
    )  # B: the others' risk is unknown (their plan does not say), no longer "medium"
    unassigned = alice_client.get(BOARD, {"owner": "none"}).context["board"]
    assert unassigned.visible_count == 9


def test_it_filters_the_tasks_whose_priority_or_risk_the_plan_did_not_give(
    alice_client, coordinator, plans
):
    response = alice_client.get(BOARD, {"priority": "unknown", "owner": "Codex"})
    cards = [c.task for col in response.context["board"].columns for c in col.cards]
    unknown = Task.objects.filter(priority__isnull=True, owner__name="Codex")
    assert 0 < len(cards) == unknown.count()
    assert all(task.priority is None for task in cards)
    html = response.content.decode()
    assert '<option value="unknown" selected>unknown (not in the plan)</option>' in html
    either = alice_client.get(BOARD, {"risk": ["unknown", "medium"], "owner": "Codex"})
    risky = Task.objects.filter(owner__name="Codex").exclude(risk__in=["low", "high", "variable"])
    assert either.context["board"].visible_count == risky.count() > 1


def test_it_says_which_filter_it_could_not_read(alice_client, coordinator, plans):
    response = alice_client.get(BOARD, {"priority": "urgent", "owner": "Codex"})
    assert response.context["board"].visible_count == 13  # the owner filter still applies
    assert "Filter ignored — priority: Input should be" in response.content.decode()


def test_it_refuses_the_board_without_the_view_permission(client, charlie):
    client.force_login(charlie)
    response = client.get(BOARD)
    assert response.status_code == 403
    assert "coordination.view_task" in response.content.decode()


# --------------------------------------------------------------------------- pinned query count


def test_it_renders_the_board_in_the_same_queries_for_2000_tasks_as_for_20(
    alice_client, coordinator, django_assert_num_queries, settings
):
    # Guardian re-reads the admin's kill switch (one query) at most every few seconds,
    # on any request: not a cost of the board, so not counted here (the warm-up pays it).
    settings.GUARDIAN_POLICY_REFRESH_SECONDS = 3600
    build_board(BoardSize(tasks=20, agents=5, dependencies=30), prefix="S")
    alice_client.get(BOARD)  # warm: the first request may prime caches
    with django_assert_num_queries(BOARD_QUERIES):
        small = alice_client.get(BOARD)
    assert small.context["board"].totals.task_count == 20
    build_board(BoardSize(tasks=2000, agents=50, dependencies=5000), prefix="L")
    with django_assert_num_queries(BOARD_QUERIES):
        large = alice_client.get(BOARD)
    board = large.context["board"]
    assert board.totals.task_count == 2020
    assert sum(c.total for c in board.columns) == 2020
    assert len(board.agents) == 55
    assert large.status_code == 200
    with django_assert_num_queries(BOARD_QUERIES):
        alice_client.get(BOARD, {"owner": "L agent 007", "risk": "high", "q": "task"})


def test_it_pins_the_queries_of_the_api_list_too(
    alice_client, coordinator, settings, django_assert_num_queries
):
    # The same filter as the board, prefetches instead of a query per task. Guardian
    # re-reads its policy switches every few seconds; not during this test.
    settings.GUARDIAN_POLICY_REFRESH_SECONDS = 3600
    url = "/api/coordination/tasks"
    build_board(BoardSize(tasks=30, agents=5, dependencies=40), prefix="A")
    alice_client.get(url)
    with django_assert_num_queries(API_LIST_QUERIES):
        small = alice_client.get(url, {"page_size": 100})
    assert small.json()["count"] == 30
    build_board(BoardSize(tasks=300, agents=10, dependencies=600), prefix="B")
    with django_assert_num_queries(API_LIST_QUERIES):
        large = alice_client.get(url, {"page_size": 100, "risk": ["low", "high"]})
    assert large.status_code == 200, large.content
    assert len(large.json()["items"]) == 100


# --------------------------------------------------------------------------- moves


def test_it_moves_a_task_from_the_board(alice_client, coordinator, make_task):
    task = make_task("A")
    response = fetch_move(alice_client, task, "in_progress")
    assert response.status_code == 200
    body = response.json()["task"]
    assert (body["key"], body["status"], body["status_label"]) == (
        "A",
        "in_progress",
        "In progress",
    )
    assert [m["status"] for m in body["moves"]] == [
        "todo",
        "in_review",
        "blocked",
        "done",
        "cancelled",
    ]
    event = TaskEvent.objects.get(task=task, field="status")
    assert (event.user, event.to_value) == (coordinator, "in_progress")


def test_it_shows_the_refusal_of_a_move(alice_client, coordinator, make_task):
    blocker = make_task("#1")
    task = make_task("CC-1", depends_on=[blocker])
    response = fetch_move(alice_client, task, "in_progress")
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "blocked_by_dependencies",
        "message": "CC-1 cannot start: it is blocked by #1 (to do). "
        "Finish those first, or remove the dependency.",
        "param": "to",
        "details": {"blocked_by": ["#1"]},
    }
    response = fetch_move(alice_client, task, "blocked")
    assert response.json()["error"]["message"] == (
        "Say why CC-1 is blocked: a blocked task needs a reason."
    )
    assert fetch_move(alice_client, task, "blocked", "waiting for #1").status_code == 200


def test_it_falls_back_to_a_redirect_without_javascript(alice_client, coordinator, make_task):
    task = make_task("A")
    response = alice_client.post(move_url(task), {"to": "done"}, follow=True)
    assert "A cannot go from To do to Done." in response.content.decode()
    response = alice_client.post(move_url(task), {"to": "in_progress"}, follow=True)
    assert "A is now in progress." in response.content.decode()


def test_it_refuses_a_move_without_the_change_permission(client, charlie, make_task):
    grant(charlie, "view_task")
    client.force_login(charlie)
    task = make_task("A")
    response = fetch_move(client, task, "in_progress")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "You need the 'coordination.change_task' permission (scope 'ops:write') for this operation."
    )
    assert Task.objects.get(pk=task.pk).status == "todo"


def test_it_needs_the_csrf_token_to_move(coordinator, make_task):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(coordinator)
    task = make_task("A")
    assert fetch_move(browser, task, "in_progress").status_code == 403
    html = browser.get(BOARD).content.decode()
    token = html.split('name="csrf-token" content="')[1].split('"')[0]
    response = browser.post(
        move_url(task),
        {"to": "in_progress"},
        headers={"X-Requested-With": "fetch", "X-CSRFToken": token},
    )
    assert response.status_code == 200


# --------------------------------------------------------------------------- upload, downloads


def upload(client: Client, path, **extra):
    with path.open("rb") as fh:
        return client.post(reverse("coordination-import"), {"file": fh, **extra})


def test_it_imports_an_uploaded_plan(alice_client, coordinator):
    response = upload(alice_client, COORDINATION_PLAN)
    html = response.content.decode()
    assert response.status_code == 200
    assert "imported 21 tasks (21 created, 0 updated, 0 unchanged), 3 new agents" in html
    assert Task.objects.count() == 21
    again = upload(alice_client, COORDINATION_PLAN)
    assert "(0 created, 0 updated, 21 unchanged)" in again.content.decode()


def test_it_dry_runs_an_uploaded_plan(alice_client, coordinator):
    response = upload(alice_client, T4_PLAN, dry_run="on")
    assert "would import 22 tasks (22 created" in response.content.decode()
    assert "Dry run: nothing was written." in response.content.decode()
    assert not Task.objects.exists()


def test_it_shows_the_line_of_an_upload_it_cannot_read(alice_client, coordinator):
    response = upload(alice_client, FIXTURE_PLANS / "garbled-plan.md")
    assert response.status_code == 400
    assert (
        "garbled-plan.md: line 12: table row has 5 cells but the header has 8. "
        "Fix that line and upload again."
    ) in response.content.decode()
    assert not Task.objects.exists()


def test_it_refuses_an_upload_without_the_add_permission(client, charlie):
    grant(charlie, "view_task")
    client.force_login(charlie)
    assert upload(client, COORDINATION_PLAN).status_code == 403
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("name", "content_type", "start"),
    [
        ("task_status.json", "application/json", '{\n  "$schema"'),
        ("COORDINATION_DASHBOARD.md", "text/markdown; charset=utf-8", "# Coordination dashboard"),
        ("daily_report.md", "text/markdown; charset=utf-8", "# Daily coordination report"),
    ],
)
def test_it_downloads_the_exports(alice_client, coordinator, plans, name, content_type, start):
    response = alice_client.get(reverse("coordination-export", args=[name]))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response.content.decode().startswith(start)


def test_it_shows_a_task_with_its_history(alice_client, coordinator, plans):
    task = Task.objects.get(key="CC-1")
    response = alice_client.get(reverse("coordination-task", args=[task.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Pre-Audit Guardrails Checklist" in html
    assert "All 4 guardrails pass" in html
    assert "coordination-task-assignments.md, line 57" in html

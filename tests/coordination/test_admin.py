"""The admin, driven as bob the maintainer does: every change goes through the rules."""

from __future__ import annotations

import csv
import html
import io

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from coordination import services
from coordination.models import AcceptanceItem, Agent, AgentAlias, Task, TaskEvent
from tests.coordination.forms import form_data

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:coordination_task_changelist")
# Session, user, the page's count and rows (owner and track joined), the total
# count, the owner and track filter choices.
ADMIN_LIST_QUERIES = 7


def change_url(task: Task) -> str:
    return reverse("admin:coordination_task_change", args=[task.pk])


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def board(make_task, codex):
    """#1 (todo), CC-5 waiting for #1, B in review needing a critical review."""
    track, _ = services.track_get_or_create("Top-5")
    first = make_task("#1", owner=codex, track=track, estimate_min_hours=2, estimate_max_hours=3)
    validation = make_task("CC-5", depends_on=[first])
    reviewer = services.agent_resolve("Claude Code").agent
    critical = make_task(
        "B", status="in_review", owner=codex, requires_critical_review=True, reviewer=reviewer
    )
    return first, validation, critical


def run_action(client, action: str, tasks: list[Task], **form) -> object:
    data = {"action": action, "_selected_action": [t.pk for t in tasks], **form}
    return client.post(CHANGELIST, data, follow=bool(form.get("apply")))


# --------------------------------------------------------------------------- the list


def test_it_lists_tasks_with_coloured_statuses_and_filters(bob_client, board):
    response = bob_client.get(CHANGELIST)
    html = page_text(response)
    assert response.status_code == 200
    assert 'data-status="in_review"' in html and "background:#8a5cd1" in html
    for heading in (
        "By status",
        "By owner",
        "By track",
        "By priority",
        "By risk",
        "By requires critical review",
        "By blocked",
    ):
        assert heading in html, heading
    waiting = bob_client.get(CHANGELIST, {"blocked": "yes"}).context["cl"].result_list
    assert [t.key for t in waiting] == ["CC-5"]
    found = bob_client.get(CHANGELIST, {"q": "cc-5"}).context["cl"].result_list
    assert [t.key for t in found] == ["CC-5"]
    critical = bob_client.get(CHANGELIST, {"requires_critical_review__exact": "1"})
    assert [t.key for t in critical.context["cl"].result_list] == ["B"]


def test_it_keeps_outsiders_out_of_the_admin(client, charlie):
    client.force_login(charlie)
    assert client.get(CHANGELIST).status_code == 302


# --------------------------------------------------------------------------- bulk actions


def test_it_assigns_an_owner_in_bulk_after_an_intermediate_page(bob_client, board):
    first, validation, _ = board
    jules = services.agent_resolve("Jules").agent
    page = run_action(bob_client, "assign_owner", [first, validation])
    assert page.status_code == 200
    assert "2 tasks selected" in page_text(page)
    assert 'name="owner"' in page_text(page)
    done = run_action(bob_client, "assign_owner", [first, validation], owner=jules.pk, apply="1")
    assert "Assigned 2 tasks." in messages_of(done)
    assert set(Task.objects.filter(owner=jules).values_list("key", flat=True)) == {"#1", "CC-5"}
    event = TaskEvent.objects.get(task=first, field="owner")
    assert (event.from_value, event.to_value, event.actor) == ("Codex", "Jules", "bob")


def test_it_sets_statuses_in_bulk_through_the_rules(bob_client, board):
    first, validation, critical = board
    response = run_action(
        bob_client, "set_status", [first, validation, critical], status="in_progress", apply="1"
    )
    notes = messages_of(response)
    assert (
        # Keys in order: #1 moved first, so CC-5 sees it in progress, not done.
        "CC-5 cannot start: it is blocked by #1 (in progress). Finish those first, or remove the "
        "dependency." in notes
    )
    assert "Moved 2 tasks." in notes
    assert "1 task was refused by the rules; see why above." in notes
    statuses = dict(Task.objects.values_list("key", "status"))
    assert statuses == {"#1": "in_progress", "CC-5": "todo", "B": "in_progress"}
    response = run_action(bob_client, "set_status", [first, critical], status="done", apply="1")
    notes = messages_of(response)
    assert (
        "B requires a critical review: its reviewer Claude Code must approve it before it is done."
        in notes
    )
    assert Task.objects.get(key="#1").status == "done"


def test_it_refuses_to_block_in_bulk_without_a_reason(bob_client, board):
    first, validation, _ = board
    page = run_action(bob_client, "mark_blocked", [first, validation], reason="", apply="1")
    assert page.status_code == 200
    assert "This field is required." in page_text(page)
    assert not Task.objects.filter(status="blocked").exists()
    done = run_action(
        bob_client, "mark_blocked", [first, validation], reason="staging is down", apply="1"
    )
    assert "Blocked 2 tasks." in messages_of(done)
    assert set(Task.objects.filter(status="blocked").values_list("blocked_reason", flat=True)) == {
        "staging is down"
    }


def test_it_approves_a_critical_review_only_as_its_reviewer(bob_client, bob, board):
    _, _, critical = board
    response = run_action(bob_client, "approve_review", [critical])
    response = bob_client.get(response["Location"]) if response.status_code == 302 else response
    assert any(m.startswith("Only Claude Code, the reviewer of B") for m in messages_of(response))
    Agent.objects.filter(name="Claude Code").update(user=bob)
    response = run_action(bob_client, "approve_review", [critical])
    assert Task.objects.get(key="B").approved_by.name == "Claude Code"


def test_it_exports_the_selection_as_csv(bob_client, board):
    first, validation, _ = board
    response = run_action(bob_client, "export_csv", [first, validation])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(page_text(response))))
    assert [(r["key"], r["owner"], r["depends_on"], r["estimate_max_hours"]) for r in rows] == [
        ("#1", "Codex", "", "3"),
        ("CC-5", "", "#1", ""),
    ]


# --------------------------------------------------------------------------- the change form


def post_change(client, task: Task, **changes) -> object:
    data = form_data(client.get(change_url(task)).content.decode(), form_id="task_form")
    for name, value in changes.items():
        data[name] = value if isinstance(value, list) else [value]
    return client.post(change_url(task), data, follow=True)


def test_it_saves_fields_with_events_and_refuses_a_bad_transition(bob_client, board):
    first, _, _ = board
    response = post_change(bob_client, first, priority="critical", branch="feat/shadow-diff")
    assert response.status_code == 200
    first.refresh_from_db()
    assert (first.priority, first.branch) == ("critical", "feat/shadow-diff")
    events = set(TaskEvent.objects.filter(task=first).values_list("field", "to_value"))
    assert {("priority", "critical"), ("branch", "feat/shadow-diff")} <= events
    response = post_change(bob_client, first, status="done")
    assert "To do cannot go to Done; it can go to: In progress, In review, Blocked, Cancelled." in (
        page_text(response)
    )
    response = post_change(bob_client, first, status="blocked", blocked_reason="")
    assert "Say why the task is blocked." in page_text(response)


def test_it_applies_a_status_change_through_the_rules(bob_client, board):
    _, validation, _ = board
    response = post_change(bob_client, validation, status="in_progress", title="Parity check")
    assert "Status not changed: CC-5 cannot start: it is blocked by #1 (to do)." in " ".join(
        messages_of(response)
    )
    validation.refresh_from_db()
    assert (validation.status, validation.title) == ("todo", "Parity check")


def test_it_ticks_acceptance_items_and_then_moves_to_done_in_one_save(bob_client, make_task):
    task = make_task("CC-1", status="in_review", acceptance=[("Guardrails pass", False)])
    item = AcceptanceItem.objects.get(task=task)
    response = post_change(bob_client, task, **{"acceptance_items-0-done": "on", "status": "done"})
    notes = messages_of(response)
    assert len(notes) == 1 and notes[0].endswith("was changed successfully.")
    task.refresh_from_db()
    item.refresh_from_db()
    assert (task.status, item.done) == ("done", True)
    fields = list(
        TaskEvent.objects.filter(task=task).order_by("id").values_list("field", flat=True)
    )
    assert fields[-2:] == ["acceptance", "status"]


def test_it_refuses_a_dependency_cycle_in_the_inline(bob_client, board):
    first, validation, _ = board
    response = post_change(bob_client, first, **{"depends_links-0-blocker": str(validation.pk)})
    assert "CC-5 cannot block #1: that would close the cycle CC-5 → #1 → CC-5." in (
        page_text(response)
    )
    assert not first.dependencies.exists()
    other = Task.objects.get(key="B")
    post_change(bob_client, first, **{"depends_links-0-blocker": str(other.pk)})
    assert list(first.dependencies.values_list("key", flat=True)) == ["B"]
    assert TaskEvent.objects.filter(task=first, field="dependencies", to_value="B").exists()


def test_it_shows_the_history_read_only(bob_client, board, bob):
    first, _, _ = board
    services.task_transition(task=first, to="in_progress", by=bob)
    html = bob_client.get(change_url(first)).content.decode()
    assert "History" in html
    assert "in_progress" in html
    assert 'name="events-0-field"' not in html


def test_it_adds_a_task_through_the_services(bob_client):
    page = bob_client.get(reverse("admin:coordination_task_add"))
    data = form_data(page_text(page), form_id="task_form")
    data.update(
        key=["CC-9"],
        title=["Write the runbook"],
        status=["todo"],
        priority=["high"],
        risk=["low"],
        files=["[]"],
    )
    data["acceptance_items-0-text"] = ["Runbook reviewed"]
    data["acceptance_items-0-position"] = ["1"]
    response = bob_client.post(reverse("admin:coordination_task_add"), data, follow=True)
    assert response.status_code == 200, page_text(response)[:2000]
    task = Task.objects.get(key="CC-9")
    assert list(task.acceptance_items.values_list("text", flat=True)) == ["Runbook reviewed"]
    assert TaskEvent.objects.filter(task=task, field="created", user__username="bob").exists()


# --------------------------------------------------------------------------- agents


def test_it_edits_agent_aliases_inline_and_refuses_a_taken_one(bob_client, codex):
    copilot = services.agent_resolve("Copilot").agent
    url = reverse("admin:coordination_agent_change", args=[copilot.pk])
    data = form_data(bob_client.get(url).content.decode(), form_id="agent_form")
    data["aliases-1-alias"] = ["@codex"]
    response = bob_client.post(url, data)
    assert "'@codex' reads as 'codex', which already names Codex." in page_text(response)
    data["aliases-1-alias"] = ["GH Copilot Workspace"]
    response = bob_client.post(url, data, follow=True)
    assert AgentAlias.objects.get(normalized="gh copilot workspace").agent == copilot
    assert services.agent_resolve("gh-copilot-workspace").agent == copilot
    listing = bob_client.get(reverse("admin:coordination_agent_changelist")).content.decode()
    assert "GH Copilot Workspace" in listing


def test_it_lists_tasks_in_the_same_queries_for_many_tasks(bob_client, django_assert_num_queries):
    from tests.coordination.boards import BoardSize, build_board

    build_board(BoardSize(tasks=20, agents=5, dependencies=30), prefix="S")
    bob_client.get(CHANGELIST)
    with django_assert_num_queries(ADMIN_LIST_QUERIES):
        bob_client.get(CHANGELIST)
    build_board(BoardSize(tasks=500, agents=20, dependencies=900), prefix="L")
    with django_assert_num_queries(ADMIN_LIST_QUERIES):
        response = bob_client.get(CHANGELIST, {"blocked": "yes"})
    assert response.context["cl"].result_count > 0

"""The rules of coordination.services: every refusal, its message, the events it writes."""

from __future__ import annotations

import pytest

from coordination import selectors, services
from coordination.models import AcceptanceItem, ActorKind, TaskEvent, TaskStatus
from coordination.services import transitions
from lukhas_site.errors import Conflict, InvalidRequest, NotFound, RuleViolation

pytestmark = pytest.mark.django_db


def refusal(exc_type, func, **kwargs):
    with pytest.raises(exc_type) as caught:
        func(**kwargs)
    return caught.value


# --------------------------------------------------------------------------- transition table


@pytest.mark.parametrize(
    ("path"),
    [
        ["in_progress", "in_review", "done"],
        ["in_progress", "done"],
        ["in_review", "in_progress", "blocked", "todo", "cancelled", "todo"],
        ["in_progress", "done", "in_progress"],
    ],
)
def test_it_moves_a_task_along_the_transition_table(make_task, alice, path):
    task = make_task("A")
    for step in path:
        reason = "waiting for creds" if step == "blocked" else None
        task = services.task_transition(task=task, to=step, by=alice, reason=reason)
        assert task.status == step
    statuses = list(
        TaskEvent.objects.filter(task=task, field="status")
        .order_by("id")
        .values_list("from_value", "to_value")
    )
    assert statuses == list(zip(["todo", *path[:-1]], path, strict=True))


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        ("todo", "done", "In progress, In review, Blocked, Cancelled"),
        ("done", "cancelled", "In progress"),
        ("cancelled", "in_progress", "To do"),
        ("blocked", "done", "To do, In progress, Cancelled"),
    ],
)
def test_it_refuses_a_transition_the_table_does_not_have(make_task, alice, start, to, allowed):
    reason = "x" if start == "blocked" else ""
    task = make_task("A", status=start, blocked_reason=reason)
    error = refusal(RuleViolation, services.task_transition, task=task, to=to, by=alice)
    start_label = TaskStatus(start).label
    assert error.message == (
        f"A cannot go from {start_label} to {TaskStatus(to).label}. "
        f"From {start_label} it can go to: {allowed}."
    )
    assert error.status == 422
    assert error.code == "invalid_transition"
    task.refresh_from_db()
    assert task.status == start
    assert not TaskEvent.objects.filter(task=task, field="status").exists()


def test_it_refuses_a_status_that_does_not_exist(make_task, alice):
    error = refusal(
        InvalidRequest, services.task_transition, task=make_task("A"), to="doing", by=alice
    )
    assert error.message.startswith("'doing' is not a status; use one of: todo, in_progress")
    assert error.param == "to"


def test_it_says_which_key_it_cannot_find():
    error = refusal(NotFound, selectors.task_get, key="ZZ-9")
    assert error.message == "No task has the key 'ZZ-9'."


def test_it_finds_a_numbered_task_without_its_hash(make_task):
    task = make_task("#3")
    assert selectors.task_get("3") == task


# --------------------------------------------------------------------------- dependencies


def test_it_refuses_to_start_a_task_whose_dependencies_are_not_done(make_task, alice):
    first, second = make_task("#1"), make_task("#3", status="in_progress")
    validation = make_task("CC-5", depends_on=[first, second])
    for to in ("in_progress", "in_review"):
        error = refusal(RuleViolation, services.task_transition, task=validation, to=to, by=alice)
        assert error.message == (
            "CC-5 cannot start: it is blocked by #1 (to do), #3 (in progress). "
            "Finish those first, or remove the dependency."
        )
        assert error.details == {"blocked_by": ["#1", "#3"]}
    services.task_transition(task=first, to="in_progress", by=alice)
    services.task_transition(task=first, to="done", by=alice)
    error = refusal(
        RuleViolation, services.task_transition, task=validation, to="in_progress", by=alice
    )
    assert "blocked by #3 (in progress)" in error.message
    services.task_transition(task=second, to="done", by=alice)
    assert services.task_transition(task=validation, to="in_progress", by=alice).status == (
        "in_progress"
    )


def test_it_refuses_done_while_a_dependency_added_later_is_open(make_task, alice):
    task = make_task("B", status="in_progress")
    services.task_add_dependency(blocker=make_task("A"), blocked=task, by=alice)
    error = refusal(RuleViolation, services.task_transition, task=task, to="done", by=alice)
    assert error.message.startswith("B cannot be done: it is blocked by A (to do).")


def test_it_rejects_a_dependency_cycle_and_names_it(make_task, alice):
    a, b, c = make_task("A"), make_task("B"), make_task("C")
    services.task_add_dependency(blocker=a, blocked=b, by=alice)  # A blocks B
    services.task_add_dependency(blocker=b, blocked=c, by=alice)  # B blocks C
    error = refusal(RuleViolation, services.task_add_dependency, blocker=c, blocked=a, by=alice)
    assert error.message == (
        "C cannot block A: that would close the cycle C → A → B → C. "
        "Remove one of those dependencies first."
    )
    assert error.details == {"cycle": ["C", "A", "B", "C"]}
    assert error.code == "dependency_cycle"
    assert not a.dependencies.exists()


def test_it_refuses_a_task_that_depends_on_itself(make_task, alice):
    a = make_task("A")
    error = refusal(RuleViolation, services.task_add_dependency, blocker=a, blocked=a, by=alice)
    assert error.message == "A cannot depend on itself."


def test_it_records_added_and_removed_dependencies(make_task, alice):
    a, b = make_task("A"), make_task("B")
    services.task_add_dependency(blocker=a, blocked=b, by=alice)
    services.task_add_dependency(blocker=a, blocked=b, by=alice)  # idempotent
    assert list(b.dependencies.values_list("key", flat=True)) == ["A"]
    assert list(a.dependents.values_list("key", flat=True)) == ["B"]
    assert services.task_remove_dependency(blocker=a, blocked=b, by=alice)
    events = TaskEvent.objects.filter(task=b, field="dependencies").order_by("id")
    assert [(e.from_value, e.to_value) for e in events] == [("", "A"), ("A", "")]


# --------------------------------------------------------------------------- done


def test_it_refuses_done_until_every_acceptance_item_is_checked(make_task, alice):
    task = make_task(
        "CC-1",
        status="in_review",
        acceptance=[("All 4 guardrails pass", True), ("Artifacts saved", False), ("Doc", False)],
    )
    error = refusal(RuleViolation, services.task_transition, task=task, to="done", by=alice)
    assert error.message == (
        "CC-1 cannot be done: 2 of 3 acceptance items are not checked: "
        "'Artifacts saved'; 'Doc'. Check them first."
    )
    assert error.code == "acceptance_incomplete"
    for item in AcceptanceItem.objects.filter(task=task, done=False):
        services.acceptance_item_set(item=item, done=True, by=alice)
    assert services.task_transition(task=task, to="done", by=alice).status == "done"
    ticks = TaskEvent.objects.filter(task=task, field="acceptance").order_by("id")
    assert [e.to_value for e in ticks] == ["[x] Artifacts saved", "[x] Doc"]


def test_it_needs_the_reviewers_approval_for_a_critical_review(make_task, alice, bob, claude_code):
    task = make_task("B", status="in_review", requires_critical_review=True, reviewer=claude_code)
    error = refusal(RuleViolation, services.task_transition, task=task, to="done", by=bob)
    assert error.message == (
        "B requires a critical review: its reviewer Claude Code must approve it before it is done."
    )
    # bob is a superuser, but not the reviewer: the gate is about who, not rights.
    error = refusal(RuleViolation, services.task_approve, task=task, by=bob)
    assert error.message == (
        "Only Claude Code, the reviewer of B, can approve it; your user acts for no agent. "
        "Link your user to Claude Code in the admin (Agents) if you review for it."
    )
    claude_code.user = alice
    claude_code.save()
    task = services.task_approve(task=task, by=alice)
    assert task.approved_by == claude_code
    assert task.approved_at is not None
    assert services.task_transition(task=task, to="done", by=alice).status == "done"
    approval = TaskEvent.objects.get(task=task, field="approval")
    assert (approval.user, approval.to_value) == (alice, "approved by Claude Code")


def test_it_refuses_a_critical_review_without_a_reviewer(make_task, alice):
    task = make_task("B", status="in_review", requires_critical_review=True)
    error = refusal(RuleViolation, services.task_transition, task=task, to="done", by=alice)
    assert error.message == (
        "B requires a critical review but has no reviewer: set one, and have them approve it."
    )
    error = refusal(RuleViolation, services.task_approve, task=task, by=alice)
    assert error.message == "B has no reviewer: set one before approving."


def test_it_refuses_approving_what_needs_no_review_or_is_not_ready(make_task, claude_code):
    plain = make_task("A", status="in_review")
    error = refusal(RuleViolation, services.task_approve, task=plain, by=claude_code)
    assert error.message == "A does not require a critical review; there is nothing to approve."
    early = make_task("B", requires_critical_review=True, reviewer=claude_code)
    error = refusal(RuleViolation, services.task_approve, task=early, by=claude_code)
    assert error.message == "B is to do; approve it while it is in progress or in review."


def test_it_clears_the_approval_when_a_done_task_reopens(make_task, claude_code):
    task = make_task("B", status="in_review", requires_critical_review=True, reviewer=claude_code)
    task = services.task_approve(task=task, by=claude_code)  # an agent may approve as itself
    task = services.task_transition(task=task, to="done", by=claude_code)
    task = services.task_transition(task=task, to="in_progress", by="system")
    assert task.approved_at is None and task.approved_by is None
    task = services.task_transition(task=task, to="in_review", by="system")
    error = refusal(RuleViolation, services.task_transition, task=task, to="done", by="system")
    assert error.code == "review_required"


# --------------------------------------------------------------------------- blocked


def test_it_needs_a_reason_to_block_a_task(make_task, alice):
    task = make_task("A")
    for reason in (None, "", "   "):
        with pytest.raises(RuleViolation) as caught:
            services.task_transition(task=task, to="blocked", by=alice, reason=reason)
        error = caught.value
        assert error.message == "Say why A is blocked: a blocked task needs a reason."
        assert error.param == "reason"
    task = services.task_transition(task=task, to="blocked", by=alice, reason="no staging DB")
    assert (task.status, task.blocked_reason) == ("blocked", "no staging DB")
    task = services.task_transition(task=task, to="todo", by=alice)
    assert task.blocked_reason == ""
    fields = list(
        TaskEvent.objects.filter(task=task).order_by("id").values_list("field", "to_value")
    )
    assert fields[-4:] == [
        ("status", "blocked"),
        ("blocked_reason", "no staging DB"),
        ("status", "todo"),
        ("blocked_reason", ""),
    ]


def test_it_keeps_a_reason_while_a_task_is_blocked(make_task, alice):
    task = make_task("A", status="blocked", blocked_reason="creds")
    error = refusal(RuleViolation, services.task_update, task=task, by=alice, blocked_reason="")
    assert error.message == "A is blocked: it keeps a reason until it is unblocked."


# --------------------------------------------------------------------------- claims and events


def test_it_claims_a_status_change_atomically(make_task, alice, monkeypatch):
    task = make_task("A")
    real_check = services.transition_check

    def someone_else_moves_it_first(current, to, reason=None):
        real_check(current, to, reason)
        type(current).objects.filter(pk=current.pk).update(status="cancelled")

    monkeypatch.setattr(transitions, "transition_check", someone_else_moves_it_first)
    error = refusal(Conflict, services.task_transition, task=task, to="in_progress", by=alice)
    assert error.message == (
        "A changed while you were moving it (it is now Cancelled); reload and try again."
    )
    assert error.status == 409


def test_it_records_who_changed_what(make_task, alice, codex):
    task = make_task("A")
    services.task_transition(task=task, to="in_progress", by=alice)
    services.task_transition(task=task, to="in_review", by=codex)
    services.task_transition(task=task, to="in_progress", by="github:octocat")
    events = list(TaskEvent.objects.filter(task=task, field="status").order_by("id"))
    assert [(e.actor_kind, e.actor) for e in events] == [
        (ActorKind.USER, "alice"),
        (ActorKind.AGENT, "Codex"),
        (ActorKind.WEBHOOK, "github:octocat"),
    ]
    assert all(e.created_at for e in events)


def test_it_writes_one_event_per_changed_field(make_task, alice, codex):
    task = make_task("A", priority="low")
    task = services.task_update(
        task=task, by=alice, owner=codex, priority="high", title="Task A", branch="feat/a"
    )
    changes = sorted(
        TaskEvent.objects.filter(task=task)
        .exclude(field="created")
        .values_list("field", "from_value", "to_value")
    )
    assert changes == [
        ("branch", "", "feat/a"),
        ("owner", "", "Codex"),
        ("priority", "low", "high"),
    ]


def test_it_sends_a_status_change_in_an_update_through_the_rules(make_task, alice):
    task = make_task("A")
    error = refusal(RuleViolation, services.task_update, task=task, by=alice, status="done")
    assert error.code == "invalid_transition"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"priority": "urgent"}, "'urgent' is not a priority; use one of: critical, high"),
        ({"risk": "huge"}, "'huge' is not a risk; use one of: low, medium, high, variable."),
        ({"title": " "}, "A needs a title."),
        ({"estimate_min_hours": 3, "estimate_max_hours": 2}, "A: the minimum estimate (3h)"),
        ({"status_changed_at": None}, "Cannot set status_changed_at on a task."),
    ],
)
def test_it_refuses_field_values_it_cannot_store(make_task, alice, changes, message):
    error = refusal(InvalidRequest, services.task_update, task=make_task("A"), by=alice, **changes)
    assert error.message.startswith(message)


def test_it_resolves_agent_spellings_through_aliases(db):
    first = services.agent_resolve("CODEX")
    assert (first.agent.name, first.created) == ("Codex", True)
    for spelling in ("Codex", "@codex", "ChatGPT CODEX", "**Codex**", "codex (CI/CD)"):
        again = services.agent_resolve(spelling)
        assert (again.agent, again.created) == (first.agent, False), spelling
    copilot = services.agent_resolve("GitHub Copilot")
    assert (copilot.agent.name, copilot.agent.kind) == ("Copilot", "coding_agent")
    claude = services.agent_resolve("@claude-code")
    assert claude.agent.name == "Claude Code"
    dana = services.agent_resolve("Dana Scully")
    assert (dana.agent.name, dana.agent.kind, dana.created) == ("Dana Scully", "person", True)

"""The GitHub webhook: signatures, redeliveries, and pull requests moving tasks by the rules.

Payloads are shaped like GitHub's documented ``pull_request`` and ``check_suite``
events (only the fields GitHub always sends that the webhook reads, plus a few more).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest

from coordination import services
from coordination.models import Task, TaskEvent, WebhookDelivery
from coordination.services.github import task_keys_in

pytestmark = pytest.mark.django_db

URL = "/api/coordination/github"
SECRET = "it-is-a-webhook-secret"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.COORDINATION_GITHUB_WEBHOOK_SECRET = SECRET


@pytest.fixture
def tasks(make_task, codex):
    first = make_task("#1", owner=codex)
    return {
        "#1": first,
        "CC-1": make_task("CC-1", depends_on=[first]),
        "CC-2": make_task("CC-2", status="in_progress"),
        "B": make_task(
            "B",
            status="in_review",
            requires_critical_review=True,
            reviewer=services.agent_resolve("Claude Code").agent,
        ),
        "A": make_task("A", status="in_review", acceptance=[("tests pass", True)]),
    }


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(client, event: str, payload: dict, *, delivery: str | None = None, signature=None):
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": sign(body) if signature is None else signature,
        "User-Agent": "GitHub-Hookshot/abc123",
    }
    if signature == "":
        del headers["X-Hub-Signature-256"]
    return client.post(URL, body, content_type="application/json", headers=headers)


def pull_request(
    action: str, *, number: int = 12, branch: str, title: str, merged=False, draft=False
) -> dict:
    return {
        "action": action,
        "number": number,
        "pull_request": {
            "url": f"https://api.github.com/repos/lukhas/lukhas/pulls/{number}",
            "id": 1000 + number,
            "number": number,
            "html_url": f"https://github.com/lukhas/lukhas/pull/{number}",
            "state": "closed" if action == "closed" else "open",
            "title": title,
            "draft": draft,
            "merged": merged,
            "user": {"login": "codex-bot", "type": "Bot"},
            "head": {"ref": branch, "sha": "9f3c2a1b" * 5, "label": f"lukhas:{branch}"},
            "base": {"ref": "main", "sha": "1a2b3c4d" * 5, "label": "lukhas:main"},
        },
        "repository": {"id": 1, "name": "lukhas", "full_name": "lukhas/lukhas"},
        "sender": {"login": "codex-bot", "type": "Bot"},
    }


def check_suite(conclusion: str, *, branch: str, number: int | None = None) -> dict:
    pulls = []
    if number is not None:
        pulls.append(
            {
                "url": f"https://api.github.com/repos/lukhas/lukhas/pulls/{number}",
                "id": 1000 + number,
                "number": number,
                "head": {"ref": branch, "sha": "9f3c2a1b" * 5},
                "base": {"ref": "main", "sha": "1a2b3c4d" * 5},
            }
        )
    return {
        "action": "completed",
        "check_suite": {
            "id": 5,
            "head_branch": branch,
            "head_sha": "9f3c2a1b" * 5,
            "status": "completed",
            "conclusion": conclusion,
            "pull_requests": pulls,
        },
        "repository": {"id": 1, "name": "lukhas", "full_name": "lukhas/lukhas"},
        "sender": {"login": "github-actions[bot]", "type": "Bot"},
    }


# --------------------------------------------------------------------------- signature


def test_it_answers_503_while_no_secret_is_configured(client, settings, tasks):
    settings.COORDINATION_GITHUB_WEBHOOK_SECRET = ""
    response = deliver(client, "ping", {"zen": "Keep it logically awesome."})
    assert response.status_code == 503
    assert response.json()["error"]["message"].startswith(
        "The GitHub webhook is not configured: set LUKHAS_GITHUB_WEBHOOK_SECRET"
    )
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("", "The X-Hub-Signature-256 header is missing"),
        ("sha256=" + "0" * 64, "The X-Hub-Signature-256 signature does not match the payload"),
        (sign(b"another body"), "The X-Hub-Signature-256 signature does not match the payload"),
        (sign(b"{}", "wrong-secret"), "The X-Hub-Signature-256 signature does not match"),
    ],
)
def test_it_refuses_a_missing_or_bad_signature_and_writes_nothing(
    client, tasks, signature, message
):
    payload = pull_request("opened", branch="feat/CC-2-dashboard", title="Dashboard")
    response = deliver(client, "pull_request", payload, signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert response.json()["error"]["message"].startswith(message)
    assert not WebhookDelivery.objects.exists()
    assert Task.objects.get(key="CC-2").status == "in_progress"


def test_it_answers_a_ping(client):
    response = deliver(client, "ping", {"zen": "Design for failure.", "hook_id": 1})
    assert response.status_code == 200
    assert response.json()["outcome"] == "pong (Design for failure.)"


def test_it_refuses_a_signed_body_that_is_not_json(client):
    body = b"payload=%7B%7D"
    response = client.post(
        URL,
        body,
        content_type="application/x-www-form-urlencoded",
        headers={
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "d-1",
            "X-Hub-Signature-256": sign(body),
        },
    )
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]["message"]


# --------------------------------------------------------------------------- pull requests


def test_it_moves_a_task_to_review_when_its_pr_opens(client, tasks):
    payload = pull_request("opened", branch="feat/CC-2-dashboard", title="Coordination dashboard")
    response = deliver(client, "pull_request", payload, delivery="d-100")
    assert response.status_code == 200
    assert response.json() == {
        "status": "processed",
        "event": "pull_request",
        "delivery": "d-100",
        "tasks": ["CC-2"],
        "outcome": "CC-2: in_progress -> in_review",
    }
    task = Task.objects.get(key="CC-2")
    assert (task.status, task.pr_number, task.branch) == ("in_review", 12, "feat/CC-2-dashboard")
    assert task.pr_url == "https://github.com/lukhas/lukhas/pull/12"
    event = TaskEvent.objects.get(task=task, field="status")
    assert (event.actor, event.actor_kind, event.to_value) == (
        "github:codex-bot",
        "webhook",
        "in_review",
    )


def test_it_ignores_a_delivery_it_has_seen(client, tasks):
    payload = pull_request("opened", branch="feat/CC-2-dashboard", title="Coordination dashboard")
    assert deliver(client, "pull_request", payload, delivery="d-200").status_code == 200
    events = TaskEvent.objects.count()
    services.task_transition(task=Task.objects.get(key="CC-2"), to="in_progress", by="test")
    again = deliver(client, "pull_request", payload, delivery="d-200")
    assert again.status_code == 202
    assert again.json()["status"] == "duplicate"
    assert Task.objects.get(key="CC-2").status == "in_progress"  # not moved again
    assert TaskEvent.objects.count() == events + 1  # only the manual move
    assert WebhookDelivery.objects.filter(delivery_id="d-200").count() == 1


def test_it_records_a_refused_move_on_the_task(client, tasks):
    payload = pull_request(
        "ready_for_review", branch="claude/guardrails", title="[CC-1] Guardrails"
    )
    response = deliver(client, "pull_request", payload)
    assert response.status_code == 200
    assert response.json()["outcome"] == (
        "CC-1: refused: CC-1 cannot start: it is blocked by #1 (to do). "
        "Finish those first, or remove the dependency."
    )
    task = Task.objects.get(key="CC-1")
    assert task.status == "todo"
    note = TaskEvent.objects.get(task=task, field="github")
    assert note.message.startswith("PR #12 ready_for_review, but the task stays to do: CC-1 cannot")


def test_it_marks_a_merged_task_done_when_the_rules_allow(client, tasks):
    payload = pull_request(
        "closed", branch="codex/task-a-idempotency", title="Idempotency E2E", merged=True
    )
    response = deliver(client, "pull_request", payload)
    assert response.json()["tasks"] == ["A"]
    assert Task.objects.get(key="A").status == "done"


def test_it_keeps_a_merged_critical_task_in_review_without_approval(client, tasks):
    payload = pull_request(
        "closed", branch="codex/breaker", title="Task B: circuit breaker", merged=True
    )
    response = deliver(client, "pull_request", payload)
    assert response.status_code == 200
    task = Task.objects.get(key="B")
    assert task.status == "in_review"
    note = TaskEvent.objects.get(task=task, field="github")
    assert note.message == (
        "PR #12 closed (merged), but the task stays in review: B requires a critical review: "
        "its reviewer Claude Code must approve it before it is done."
    )


def test_it_records_a_pr_closed_without_merging(client, tasks):
    payload = pull_request("closed", branch="feat/CC-2-dashboard", title="Dashboard")
    deliver(client, "pull_request", payload)
    assert Task.objects.get(key="CC-2").status == "in_progress"
    assert TaskEvent.objects.get(task__key="CC-2", field="github").message == (
        "PR #12 closed without merging"
    )


def test_it_ignores_a_pr_that_names_no_task(client, tasks):
    payload = pull_request("opened", branch="fix/readme", title="A small README fix")
    response = deliver(client, "pull_request", payload)
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert WebhookDelivery.objects.get().outcome.startswith("PR #12 names no task key")


# --------------------------------------------------------------------------- check suites


def test_it_records_check_suite_conclusions_on_the_linked_task(client, tasks):
    deliver(client, "pull_request", pull_request("opened", branch="feat/CC-2-x", title="x"))
    response = deliver(
        client, "check_suite", check_suite("failure", branch="feat/CC-2-x", number=12)
    )
    assert response.json()["outcome"] == "check suite failure recorded on CC-2"
    task = Task.objects.get(key="CC-2")
    assert task.ci_conclusion == "failure"
    change = TaskEvent.objects.get(task=task, field="ci_conclusion")
    assert (change.from_value, change.to_value, change.actor) == (
        "",
        "failure",
        "github:github-actions[bot]",
    )
    deliver(client, "check_suite", check_suite("success", branch="feat/CC-2-x", number=12))
    assert Task.objects.get(key="CC-2").ci_conclusion == "success"
    assert TaskEvent.objects.filter(task=task, field="check_suite").count() == 2


def test_it_ignores_events_it_does_not_handle(client, tasks):
    response = deliver(client, "issues", {"action": "opened", "sender": {"login": "x"}})
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert WebhookDelivery.objects.get().event == "issues"


# --------------------------------------------------------------------------- finding keys


KEYS = {k.lower(): k for k in ("#1", "#2", "A", "B", "CC-1", "CC-10", "E402-1", "Safe-1")}


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("feat/CC-1-shadow-diff", ["CC-1"]),
        ("feat/cc-10-parity", ["CC-10"]),
        ("codex/task-b-breaker", ["B"]),
        ("[A] Idempotency Redis E2E", ["A"]),
        ("Task #2: golden token kit", ["#2"]),
        ("chore: E402-1 and safe-1 hygiene", ["E402-1", "Safe-1"]),
        ("A small README fix", []),
        ("Fix E402-11 imports", []),
        ("Bump deps (#1234)", []),
    ],
)
def test_it_finds_task_keys_in_branches_and_titles(text, keys):
    assert task_keys_in(text, KEYS) == keys

"""Plans are key spaces (issue 15 item 5): a task is (plan, key), never key alone.

Two plans that both write ``#1`` import as two tasks; a re-import of one never
touches the other; ``PLAN:KEY`` names a task of another plan, in a plan and in
the API; pages, exports and GitHub links name the plan when keys clash.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from django.db import IntegrityError, transaction

from coordination import services
from coordination.exports import export_bundle
from coordination.models import Plan, Task, TaskDependency, plan_slug_for
from coordination.services.plan_import import plan_import_data

pytestmark = pytest.mark.django_db

API = "/api/coordination"

ALPHA = """# Alpha plan

| # | Task | Owner | Estimate |
|---|---|---|---|
| #1 | Alpha first | Codex | 2h |
| #2 | Alpha second | Codex | 1h |
"""

BETA = """# Beta plan

| # | Task | Owner | Depends on |
|---|---|---|---|
| #1 | Beta first | Jules | alpha:#2 |
| #2 | Beta second | Jules | #1, nowhere:#9, alpha:#7 |
"""


def imp(text: str, name: str, **kwargs):
    return plan_import_data(data=text, source_name=name, by="test", **kwargs)


@pytest.fixture
def two_plans():
    return imp(ALPHA, "alpha.md"), imp(BETA, "beta.md")


def test_it_derives_the_plan_slug_from_the_file_name():
    assert plan_slug_for("coordination-task-assignments.md") == "coordination-task-assignments"
    assert plan_slug_for("plans/T4 Handoff.TODO.md") == "t4-handoff-todo"
    assert plan_slug_for("") == "plan"


def test_it_keeps_two_plans_with_the_same_keys_apart(two_plans):
    alpha, beta = two_plans
    assert alpha.keys("created") == ["#1", "#2"]
    assert beta.keys("created") == ["#1", "#2"]  # created, not "updated" over alpha's
    firsts = Task.objects.filter(key="#1").select_related("source_plan", "owner")
    assert {(t.source_plan.slug, t.title, t.owner.name) for t in firsts} == {
        ("alpha", "Alpha first", "Codex"),
        ("beta", "Beta first", "Jules"),
    }
    again = imp(ALPHA, "alpha.md")
    assert again.keys("unchanged") == ["#1", "#2"]
    assert Task.objects.get(source_plan__slug="beta", key="#1").title == "Beta first"


def test_it_resolves_plan_key_references_and_warns_about_unknown_ones(two_plans):
    _, beta = two_plans
    beta_first = Task.objects.get(source_plan__slug="beta", key="#1")
    alpha_second = Task.objects.get(source_plan__slug="alpha", key="#2")
    assert TaskDependency.objects.filter(blocker=alpha_second, blocked=beta_first).exists()
    beta_second = Task.objects.get(source_plan__slug="beta", key="#2")
    assert list(beta_second.dependencies.values_list("key", "source_plan__slug")) == [
        ("#1", "beta")
    ]
    change = next(c for c in beta.tasks if c.key == "#1")
    assert change.changes["depends_on"] == [None, ["alpha:#2"]]
    warnings = "\n".join(beta.warnings)
    assert "depends on 'nowhere:#9': no plan is named 'nowhere'" in warnings
    assert "depends on 'alpha:#7': plan 'alpha' has no task '#7'" in warnings


def test_it_imports_into_the_plan_it_is_told(two_plans):
    report = imp(ALPHA, "alpha-copy.md", plan_slug="Beta")
    assert report.plan_slug == "beta"
    assert report.keys("updated") == ["#1", "#2"]  # beta's tasks now carry alpha's titles
    assert Task.objects.get(source_plan__slug="beta", key="#1").title == "Alpha first"


def test_it_refuses_a_second_task_with_the_same_key_in_one_plan(two_plans):
    alpha = Plan.objects.get(slug="alpha")
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(key="#1", title="again", source_plan=alpha)
    services.task_create(by="test", key="#1", title="no plan")  # the plan-less space is free
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(key="#1", title="no plan again")


def test_the_api_names_tasks_with_their_plan_when_keys_clash(client, api_key_headers, two_plans):
    reader = api_key_headers(scopes=["ops:read"])
    ambiguous = client.get(f"{API}/tasks/{quote('#1')}", headers=reader)
    assert ambiguous.status_code == 409, ambiguous.content
    error = ambiguous.json()["error"]
    assert error["code"] == "ambiguous_key"
    assert "alpha:#1, beta:#1" in error["message"]
    one = client.get(f"{API}/tasks/{quote('beta:#1')}", headers=reader)
    assert one.status_code == 200, one.content
    body = one.json()
    assert (body["key"], body["plan"], body["ref"], body["title"]) == (
        "#1",
        "beta",
        "beta:#1",
        "Beta first",
    )
    assert body["depends_on"] == ["alpha:#2"]  # another plan's task, named with its plan
    alpha_two = client.get(f"{API}/tasks/{quote('ALPHA:2')}", headers=reader).json()
    assert alpha_two["blocks"] == ["beta:#1"]


def test_the_api_creates_a_task_in_a_plan_and_depends_across_plans(
    client, api_key_headers, two_plans
):
    writer = api_key_headers(scopes=["ops:read", "ops:write"])
    response = client.post(
        f"{API}/tasks",
        {"key": "#1", "title": "Gamma", "depends_on": ["beta:#2"]},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 201, response.content
    assert (response.json()["ref"], response.json()["depends_on"]) == ("#1", ["beta:#2"])
    plain = client.get(f"{API}/tasks/{quote(':#1')}", headers=writer).json()
    assert plain["title"] == "Gamma"
    in_plan = client.post(
        f"{API}/tasks",
        {"key": "#3", "title": "Alpha third", "plan": "alpha"},
        content_type="application/json",
        headers=writer,
    )
    assert in_plan.status_code == 201, in_plan.content
    assert in_plan.json()["ref"] == "alpha:#3"
    clash = client.post(
        f"{API}/tasks",
        {"key": "#3", "title": "again", "plan": "alpha"},
        content_type="application/json",
        headers=writer,
    )
    assert clash.status_code == 409
    message = clash.json()["error"]["message"]
    assert message == "A task with the key '#3' exists already in plan alpha."


def test_the_exports_and_the_board_name_the_plan_where_keys_clash(two_plans, coordinator, client):
    bundle = export_bundle()
    status = json.loads(bundle.files["task_status.json"])
    by_ref = {t["ref"]: t for t in status["tasks"]}
    assert {"alpha:#1", "beta:#1", "alpha:#2", "beta:#2"} == set(by_ref)
    assert (by_ref["beta:#1"]["plan"], by_ref["beta:#1"]["key"]) == ("beta", "#1")
    assert by_ref["beta:#1"]["depends_on"] == ["alpha:#2"]
    dashboard = bundle.files["COORDINATION_DASHBOARD.md"]
    assert "alpha:#1, beta:#1, alpha:#2, beta:#2" in dashboard
    client.force_login(coordinator)
    page = client.get("/coordination/").content.decode()
    assert ">alpha:#1</a>" in page and ">beta:#1</a>" in page


def test_a_key_alone_stays_short_where_it_names_one_task(two_plans):
    imp("# Gamma\n\n| # | Task |\n|---|---|\n| G-1 | Only here |\n", "gamma.md")
    status = json.loads(export_bundle().files["task_status.json"])
    assert {t["ref"] for t in status["tasks"] if t["plan"] == "gamma"} == {"G-1"}


def test_github_links_a_clashing_key_only_when_the_plan_is_named(two_plans):
    result = services.github.webhook_handle(
        event="pull_request",
        delivery="d-1",
        payload={
            "action": "opened",
            "pull_request": {"number": 7, "title": "Task #1 done", "head": {"ref": "fix-1"}},
        },
    )
    assert result.tasks == []
    assert "#1 is a key of several plans (alpha:#1, beta:#1)" in result.outcome
    named = services.github.webhook_handle(
        event="pull_request",
        delivery="d-2",
        payload={
            "action": "opened",
            "pull_request": {"number": 8, "title": "beta: task #1", "head": {"ref": "beta/1"}},
        },
    )
    assert named.tasks == ["beta:#1"]
    assert Task.objects.get(source_plan__slug="beta", key="#1").pr_number == 8
    assert Task.objects.get(source_plan__slug="alpha", key="#1").pr_number is None

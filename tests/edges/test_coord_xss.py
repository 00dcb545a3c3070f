"""Finding 2 of issue 10: a task's PR URL cannot carry script, stored or rendered."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coordination import services
from coordination.models import Task
from tests.coordination import conftest as coordination_fixtures
from tests.coordination.conftest import grant
from tests.coordination.forms import form_data

pytestmark = pytest.mark.django_db

# The coordination fixtures, shared with tests/coordination.
coordinator = coordination_fixtures.coordinator
make_task = coordination_fixtures.make_task

API = "/api/coordination"
PAYLOAD = "javascript:alert(document.cookie)"


@pytest.fixture
def writer(api_key_headers):
    return api_key_headers(scopes=["ops:read", "ops:write"])


@pytest.fixture
def viewer(alice):
    grant(alice, "view_task", "change_task")
    return alice


def test_it_refuses_a_javascript_pr_url_through_the_api(client, writer, make_task):
    make_task("A")
    response = client.patch(
        f"{API}/tasks/A", {"pr_url": PAYLOAD}, content_type="application/json", headers=writer
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("pr_url", "invalid_url")
    assert "http:// or https://" in error["message"]
    assert Task.objects.get(key="A").pr_url == ""


def test_it_refuses_it_on_create_and_for_other_schemes(client, writer):
    for url in (PAYLOAD, "data:text/html,<script>alert(1)</script>", "ftp://example.org/x"):
        response = client.post(
            f"{API}/tasks",
            {"key": "X", "title": "x", "pr_url": url},
            content_type="application/json",
            headers=writer,
        )
        assert response.status_code == 400, (url, response.content)
        assert response.json()["error"]["param"] == "pr_url"
    assert not Task.objects.filter(key="X").exists()


def test_it_accepts_an_https_pr_url(client, writer, make_task):
    make_task("A")
    url = "https://github.com/lukhas/ops/pull/7"
    response = client.patch(
        f"{API}/tasks/A", {"pr_url": url}, content_type="application/json", headers=writer
    )
    assert response.status_code == 200, response.content
    assert response.json()["pr_url"] == url


def test_it_refuses_it_in_the_admin_form(bob_client, make_task):
    task = make_task("A")
    url = reverse("admin:coordination_task_change", args=[task.pk])
    data = form_data(bob_client.get(url).content.decode(), "task_form")
    data["pr_url"] = [PAYLOAD]
    response = bob_client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert "Enter a valid URL." in response.context["adminform"].form.errors["pr_url"]
    data["pr_url"] = ["ftp://example.org/pr/7"]  # a valid URL, but not a web page
    response = bob_client.post(url, data)
    errors = response.context["adminform"].form.errors["pr_url"]
    assert errors == ["Enter an http:// or https:// URL."]
    assert Task.objects.get(pk=task.pk).pr_url == ""


def test_it_never_renders_a_stored_bad_url_as_a_link(client, viewer, make_task):
    task = make_task("A")
    Task.objects.filter(pk=task.pk).update(pr_url=PAYLOAD)  # written before validation existed
    client.force_login(viewer)
    for url in (reverse("coordination"), reverse("coordination-task", args=[task.pk])):
        body = client.get(url).content.decode()
        assert "javascript:" not in body, url
        assert 'href="javascript' not in body.lower(), url


def test_it_renders_a_good_url_as_a_link(client, viewer, make_task):
    task = make_task("A")
    services.task_update(task=task, by="test", pr_url="https://github.com/lukhas/ops/pull/7")
    client.force_login(viewer)
    for url in (reverse("coordination"), reverse("coordination-task", args=[task.pk])):
        body = client.get(url).content.decode()
        assert 'href="https://github.com/lukhas/ops/pull/7"' in body, url


def test_it_refuses_a_javascript_pr_url_from_the_webhook(client, settings, make_task):
    from tests.coordination.test_webhook import SECRET, deliver, pull_request

    settings.COORDINATION_GITHUB_WEBHOOK_SECRET = SECRET
    make_task("CC-1")
    payload = pull_request("opened", branch="feat/CC-1-x", title="CC-1")
    payload["pull_request"]["html_url"] = PAYLOAD
    response = deliver(client, "pull_request", payload)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["param"] == "pr_url"
    task = Task.objects.get(key="CC-1")
    assert (task.pr_url, task.status) == ("", "todo")  # the whole delivery rolled back

"""The progress JSON, /api/jobs, the pages and the admin: what people and scripts see."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jobs import services
from jobs.models import Job, JobStatus, StepStatus
from tests.jobs.test_services import drive

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_heartbeat_writes(settings):
    settings.JOBS_HEARTBEAT_SECONDS = 60


@pytest.fixture
def waiting_job(tmp_path, alice) -> Job:
    job = drive(services.job_start(kind="t-approval", params={"dir": str(tmp_path)}, by=alice))
    assert job.status == JobStatus.WAITING
    return job


def test_it_serves_the_progress_json_the_page_polls(alice_client, waiting_job):
    response = alice_client.get(f"/jobs/{waiting_job.pk}/progress")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["status"] == "waiting" and body["terminal"] is False
    assert body["progress"] == {"done": 1, "total": 3, "percent": 33, "message": "sign-off"}
    assert [(s["name"], s["status"]) for s in body["steps"]] == [
        ("prepare", "succeeded"),
        ("sign-off", "waiting"),
        ("ship", "pending"),
        ("undo", "pending"),
    ]
    assert body["waiting_for_decision"] == ["sign-off"]
    assert body["started_by"] == "alice"
    assert body["url"].endswith(f"/jobs/{waiting_job.pk}/")
    assert any("waiting for a decision" in e["line"] for e in body["log"])
    assert alice_client.get("/jobs/999999/progress").json()["error"]["code"] == "not_found"


def test_it_answers_the_api_in_the_same_shape(client, alice_client, api_key_headers, waiting_job):
    response = client.get(f"/api/jobs/{waiting_job.pk}", headers=api_key_headers(["jobs:read"]))
    assert response.status_code == 200
    page_json = alice_client.get(f"/jobs/{waiting_job.pk}/progress").json()
    assert response.json() == page_json


def test_it_asks_for_the_jobs_scopes(client, api_key_headers, waiting_job):
    response = client.get(f"/api/jobs/{waiting_job.pk}", headers=api_key_headers(["ops:read"]))
    assert response.status_code == 403
    assert "'jobs:read'" in response.json()["error"]["message"]
    response = client.post(
        f"/api/jobs/{waiting_job.pk}/approve",
        {"reason": "go"},
        content_type="application/json",
        headers=api_key_headers(["jobs:read"]),
    )
    assert response.status_code == 403
    assert "'jobs:write'" in response.json()["error"]["message"]


def test_it_approves_rejects_cancels_and_retries_through_the_api(
    client, api_key_headers, waiting_job
):
    headers = api_key_headers(["jobs:read", "jobs:write"])

    def post(action: str, body: dict | None = None):
        return client.post(
            f"/api/jobs/{waiting_job.pk}/{action}",
            body or {},
            content_type="application/json",
            headers=headers,
        )

    refused = post("reject", {"reason": ""})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "reason"
    rejected = post("reject", {"reason": "p95 regressed"})
    assert rejected.status_code == 200
    sign_off = next(s for s in rejected.json()["steps"] if s["name"] == "sign-off")
    assert sign_off["decision"] == "rejected" and sign_off["reason"] == "p95 regressed"
    assert "rejected by api-key:" in sign_off["error"]
    assert post("cancel").status_code == 200  # the failure path was still to run
    assert post("cancel").status_code == 409
    retried = post("retry")
    assert retried.status_code == 200 and retried.json()["status"] == "waiting"
    approved = post("approve", {"step": "sign-off"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "queued"  # ship is next


def test_it_lists_jobs_with_filters_in_a_fixed_number_of_queries(
    client, api_key_headers, tmp_path, django_assert_max_num_queries
):
    headers = api_key_headers(["jobs:read"])
    for _ in range(3):
        services.job_start(kind="t-linear", params={"dir": str(tmp_path)})
    job = services.job_start(kind="t-gauge", params={})
    services.job_cancel(job=job)
    client.get("/api/jobs/", headers=headers)  # warm the key cache
    # Guardian's key and policy reads (one more when its 2 s policy refresh falls
    # inside), the count, the page with started_by joined: nothing per row.
    with django_assert_max_num_queries(8):
        response = client.get("/api/jobs/?kind=t-linear", headers=headers)
    assert [j["kind"] for j in response.json()["items"]] == ["t-linear"] * 3
    for _ in range(5):
        services.job_start(kind="t-linear", params={"dir": str(tmp_path)})
    with django_assert_max_num_queries(8):
        response = client.get("/api/jobs/?kind=t-linear", headers=headers)
    assert len(response.json()["items"]) == 8
    cancelled = client.get("/api/jobs/?status=cancelled", headers=headers).json()
    assert [j["id"] for j in cancelled["items"]] == [job.pk]
    bad = client.get("/api/jobs/?status=nope", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "status"
    flows = client.get("/api/jobs/flows", headers=headers).json()
    assert {"t-linear", "t-approval"} <= {f["name"] for f in flows}


def test_it_shows_the_flows_and_runs(alice_client, waiting_job):
    response = alice_client.get(reverse("jobs") + "?kind=t-approval")
    assert response.status_code == 200
    html = response.content.decode()
    assert "t-parallel" in html and "in parallel:" in html
    assert f'href="/jobs/{waiting_job.pk}/"' in html


def test_it_shows_a_run_as_a_timeline_without_inline_script(alice_client, bob_client, waiting_job):
    html = alice_client.get(f"/jobs/{waiting_job.pk}/").content.decode()
    assert 'data-step="sign-off"' in html and 'data-step="undo"' in html
    assert "Waiting for someone with the permission" in html  # alice may not decide
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "jobs/job.js" in html
    assert (
        'name="decision" value="approve"'
        in bob_client.get(f"/jobs/{waiting_job.pk}/").content.decode()
    )


def test_it_takes_decisions_from_the_page_only_with_the_permission(
    alice_client, bob_client, waiting_job
):
    url = f"/jobs/{waiting_job.pk}/decide"
    alice_client.post(url, {"decision": "approve", "step": "sign-off"})
    assert waiting_job.steps.get(name="sign-off").status == StepStatus.WAITING
    response = bob_client.post(url, {"decision": "approve", "step": "sign-off"}, follow=True)
    assert "sign-off: approved." in response.content.decode()
    assert waiting_job.steps.get(name="sign-off").decided_by.username == "bob"


def test_it_retries_and_cancels_from_the_admin(bob_client, waiting_job):
    changelist = bob_client.get("/admin/jobs/job/?status__exact=waiting&kind=t-approval")
    assert changelist.status_code == 200 and "t-approval" in changelist.content.decode()
    bob_client.post(
        "/admin/jobs/job/", {"action": "cancel_jobs", "_selected_action": [waiting_job.pk]}
    )
    waiting_job.refresh_from_db()
    assert waiting_job.status == JobStatus.CANCELLED and waiting_job.cancelled_by.username == "bob"
    bob_client.post(
        "/admin/jobs/job/", {"action": "retry_jobs", "_selected_action": [waiting_job.pk]}
    )
    waiting_job.refresh_from_db()
    assert waiting_job.status == JobStatus.WAITING
    detail = bob_client.get(f"/admin/jobs/job/{waiting_job.pk}/change/")
    assert detail.status_code == 200 and "sign-off" in detail.content.decode()


def test_it_prints_the_job_url_without_wait(waiting_job, capsys):
    from django.core.management import call_command

    call_command("job_status", str(waiting_job.pk))
    out = capsys.readouterr().out
    assert f"job {waiting_job.pk} (t-approval) is waiting: http" in out
    assert f"/jobs/{waiting_job.pk}/" in out
    assert "[1] sign-off: waiting" in out

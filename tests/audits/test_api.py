"""/api/audits/: scopes, codebases, reports (paginated, filtered), detail with collectors
and findings, starting an audit as a job; in the OpenAPI document; query counts pinned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.models import HealthReport
from jobs.models import Job
from tests.audits.reports import fixture_codebase, grant_run, make_report

pytestmark = pytest.mark.django_db

API = "/api/audits"
QUERIES = 7  # policy, key, rate buckets (insert, read, write), count, page
RUFF = [
    ("E501", "production", "fixprod/util.py", 3),
    ("F401", "labs", "fixlabs/experimental.py", 1),
]


@pytest.fixture
def reports():
    codebase = fixture_codebase()
    now = timezone.now()
    return [
        make_report(codebase, status="error", started_at=now - timedelta(hours=2), ruff=RUFF),
        make_report(codebase, status="ok", started_at=now, facts={"ruff.production": 1}, ruff=RUFF),
    ]


@pytest.fixture
def reader(api_key_headers):
    return api_key_headers(scopes=["ops:read"])


@pytest.fixture
def writer(api_key_headers):
    return api_key_headers(scopes=["ops:read", "ops:write"])


def test_it_refuses_an_anonymous_caller(client, reports):
    response = client.get(f"{API}/reports")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_it_lists_reports_newest_first_filtered_and_paginated(
    client, reader, reports, django_assert_num_queries
):
    client.get(f"{API}/codebases", headers=reader)  # the key's first use stamps it
    # Guardian (policy, key, rate buckets), count, page (codebase joined)
    with django_assert_num_queries(QUERIES):
        body = client.get(f"{API}/reports", headers=reader).json()
    assert body["count"] == 2
    assert [r["id"] for r in body["items"]] == [reports[1].pk, reports[0].pk]
    assert body["items"][0]["codebase"] == "fixture"
    make_report(reports[0].codebase, ruff=RUFF)
    with django_assert_num_queries(QUERIES):  # one more report, no more queries
        assert client.get(f"{API}/reports", headers=reader).json()["count"] == 3
    errors = client.get(f"{API}/reports?status=error&codebase=fixture", headers=reader).json()
    assert [r["id"] for r in errors["items"]] == [reports[0].pk]
    bad = client.get(f"{API}/reports?status=green", headers=reader)
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "status"


def test_it_gives_the_detail_with_collectors_and_findings(client, reader, reports):
    body = client.get(f"{API}/reports/{reports[1].pk}", headers=reader).json()
    assert body["status"] == "ok"
    assert body["gate_verdicts"]["default"]["conditions"][0]["actual"] == 1
    assert {c["collector"]: (c["status"], c["finding_count"]) for c in body["collectors"]} == {
        "pip_audit": ("unavailable", 0),
        "ruff": ("ok", 2),
    }
    assert body["findings_total"] == 2
    # ordered by collector, file, line
    assert [(f["rule"], f["file"]) for f in body["findings"]] == [
        ("F401", "fixlabs/experimental.py"),
        ("E501", "fixprod/util.py"),
    ]
    labs = client.get(f"{API}/reports/{reports[1].pk}/findings?lane=labs", headers=reader).json()
    assert [f["file"] for f in labs["items"]] == ["fixlabs/experimental.py"]
    missing = client.get(f"{API}/reports/999999", headers=reader)
    assert missing.status_code == 404


def test_it_lists_codebases(client, reader, reports):
    body = client.get(f"{API}/codebases", headers=reader).json()
    assert [c["name"] for c in body] == ["fixture", "lukhas"]  # lukhas: migration 0003
    assert body[0]["config_file"] == "tests/audits/fixture.yaml"


def test_it_starts_an_audit_with_the_write_scope_only(client, reader, writer, reports):
    refused = client.post(f"{API}/codebases/fixture/audits", headers=reader)
    assert refused.status_code == 403
    assert refused.json()["error"]["param"] == "ops:write"
    assert not Job.objects.exists()
    started = client.post(f"{API}/codebases/fixture/audits", headers=writer)
    assert started.status_code == 202
    body = started.json()
    job = Job.objects.get()
    assert (body["job_id"], body["status"]) == (job.pk, job.status)
    assert HealthReport.objects.get(pk=body["report_id"]).job_id == job.pk
    assert body["progress_url"].endswith(f"/jobs/{job.pk}/progress")
    unknown = client.post(f"{API}/codebases/nope/audits", headers=writer)
    assert unknown.status_code == 404


def test_it_asks_a_session_for_the_permission(client, alice, reports):
    client.force_login(alice)
    assert client.get(f"{API}/reports").status_code == 200
    refused = client.post(f"{API}/codebases/fixture/audits")
    assert refused.status_code == 403
    assert "audits.add_healthreport" in refused.json()["error"]["message"]
    grant_run(alice)
    assert client.post(f"{API}/codebases/fixture/audits").status_code == 202


def test_it_is_in_the_openapi_document(bob_client):
    spec = bob_client.get("/api/openapi.json").json()
    operations = {
        op["operationId"]
        for path, item in spec["paths"].items()
        if path.startswith("/api/audits/")
        for op in item.values()
    }
    assert operations == {
        "audits_codebases_list",
        "audits_reports_list",
        "audits_report_get",
        "audits_report_findings",
        "audits_audit_start",
    }

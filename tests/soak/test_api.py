"""The soak ops API: scopes, pagination with pinned query counts, the 409 of a refused promotion."""

from __future__ import annotations

import pytest

from jobs.models import Job, JobStatus
from soak.models import Phase, Release, ReleaseStatus, SoakRun
from tests.soak.promotion_helpers import GOOD, drive, soaked_release

pytestmark = pytest.mark.django_db

API = "/api/soak"
FAILING = {**GOOD, "pdp-p95": (">=", 0.95, [0.97, 0.91], Phase.FAILED)}


@pytest.fixture
def reader(api_key_headers):
    return api_key_headers(scopes=["ops:read"])


@pytest.fixture
def writer(api_key_headers):
    return api_key_headers(scopes=["ops:read", "ops:write"])


def test_it_refuses_an_anonymous_caller(client):
    response = client.get(f"{API}/runs")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_it_lets_a_read_key_read_but_not_write(client, reader):
    soaked_release()
    assert client.get(f"{API}/releases", headers=reader).json()["count"] == 1
    response = client.post(
        f"{API}/runs", {"release": "v1.0.0-rc"}, content_type="application/json", headers=reader
    )
    assert response.status_code == 403
    assert response.json()["error"]["param"] == "ops:write"
    assert not Release.objects.filter(name="v1.0.0-rc").exists()


def test_it_refuses_charlie_a_write_naming_the_permission(client, charlie):
    release, run = soaked_release(run_phase=Phase.RUNNING)
    client.force_login(charlie)
    assert client.get(f"{API}/runs/{run.pk}", headers={}).status_code == 200
    response = client.post(
        f"{API}/runs/{run.pk}/abort", {"reason": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "soak.change_soakrun" in response.json()["error"]["message"]
    run.refresh_from_db()
    assert run.phase == Phase.RUNNING


def test_it_pages_and_filters_runs_in_a_fixed_number_of_queries(
    client, reader, django_assert_num_queries
):
    for n in range(5):
        soaked_release(name=f"v0.{n}.0-rc", run_phase=Phase.SUCCESSFUL if n % 2 else Phase.FAILED)
    client.get(f"{API}/runs", headers=reader)  # warm: the key's row and Guardian's policy
    with django_assert_num_queries(7):  # 5: the key's rate buckets
        page = client.get(f"{API}/runs?page_size=2&page=2", headers=reader).json()
    assert page["count"] == 5 and len(page["items"]) == 2
    failed = client.get(f"{API}/runs?phase=failed", headers=reader).json()
    assert {r["release"] for r in failed["items"]} == {"v0.0.0-rc", "v0.2.0-rc", "v0.4.0-rc"}
    assert client.get(f"{API}/runs?release=v0.1.0-rc", headers=reader).json()["count"] == 1
    assert client.get(f"{API}/runs?page=0", headers=reader).status_code == 422
    assert client.get(f"{API}/runs?phase=nonsense", headers=reader).status_code == 422


def test_it_lists_snapshots_with_their_gates_in_a_fixed_number_of_queries(
    client, reader, django_assert_num_queries
):
    _, run = soaked_release()
    client.get(f"{API}/runs/{run.pk}/snapshots", headers=reader)
    with django_assert_num_queries(9):  # 5: rate buckets; run, count, page, gates
        page = client.get(f"{API}/runs/{run.pk}/snapshots", headers=reader).json()
    assert page["count"] == 2
    newest = page["items"][0]
    assert {g["gate_id"]: g["value"] for g in newest["gates"]} == {
        "soak-hours": 48.0,
        "no-page-alerts": 0.0,
    }
    gates = client.get(f"{API}/runs/{run.pk}/gates", headers=reader).json()
    assert {g["gate_id"]: g["phase"] for g in gates} == {
        "soak-hours": "successful",
        "no-page-alerts": "successful",
    }
    assert client.get(f"{API}/runs/{2**70}", headers=reader).status_code == 404
    assert client.get(f"{API}/runs/999999", headers=reader).status_code == 404


def test_it_answers_409_with_the_failing_gates(client, writer):
    soaked_release(FAILING, run_phase=Phase.FAILED)
    response = client.post(
        f"{API}/releases/v0.9.0-rc/promote", {}, content_type="application/json", headers=writer
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "promotion_refused"
    failing = error["details"]["failing_gates"]
    assert [(g["gate"], g["comparator"], g["threshold"], g["value"]) for g in failing] == [
        ("pdp-p95", ">=", 0.95, 0.91)
    ]
    assert Release.objects.get(name="v0.9.0-rc").status == ReleaseStatus.CANDIDATE


def test_it_promotes_and_serves_the_evidence_pack(client, writer, reader):
    release, _ = soaked_release()
    assert client.get(f"{API}/releases/v0.9.0-rc/evidence", headers=reader).status_code == 404
    response = client.post(
        f"{API}/releases/v0.9.0-rc/promote", {}, content_type="application/json", headers=writer
    )
    assert response.status_code == 202, response.content
    job = drive(Job.objects.get(pk=response.json()["id"]))
    assert job.status == JobStatus.SUCCEEDED, job.error
    download = client.get(f"{API}/releases/v0.9.0-rc/evidence", headers=reader)
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    assert body[:2] == b"PK"
    assert "v0.9.0-rc.zip" in download["Content-Disposition"]


def test_it_starts_and_aborts_a_run(client, writer, gates_file):
    response = client.post(
        f"{API}/runs",
        {"release": "v1.0.0-rc", "planned_hours": 24, "target_url": "http://127.0.0.1:9"},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 201, response.content
    run = response.json()
    assert (run["release"], run["planned_hours"], run["phase"]) == ("v1.0.0-rc", 24, "running")
    again = client.post(
        f"{API}/runs", {"release": "v1.0.0-rc"}, content_type="application/json", headers=writer
    )
    assert again.status_code == 409
    bad = client.post(
        f"{API}/runs", {"release": "", "planned_hours": 0}, content_type="application/json",
        headers=writer,
    )
    assert bad.status_code == 422
    aborted = client.post(
        f"{API}/runs/{run['id']}/abort",
        {"reason": "wrong build"},
        content_type="application/json",
        headers=writer,
    )
    assert aborted.status_code == 200, aborted.content
    assert SoakRun.objects.get(pk=run["id"]).aborted_reason == "wrong build"

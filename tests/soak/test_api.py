"""The soak ops API: scopes, pagination with pinned queries, start/snapshot/abort, 409s."""

from __future__ import annotations

import zipfile

import pytest

from jobs.models import Job
from soak import evidence
from soak.models import Phase, ReleaseStatus, SoakRun
from tests.soak.promotion_helpers import GOOD, drive, soaked_release

pytestmark = pytest.mark.django_db

FAILING = {**GOOD, "pdp-p95": (">=", 0.95, [0.97, 0.91], Phase.FAILED)}


def test_it_asks_for_the_ops_scopes(client, api_key_headers):
    soaked_release()
    assert client.get("/api/soak/runs").status_code == 401
    denied = client.get("/api/soak/runs", headers=api_key_headers(["jobs:read"]))
    assert denied.status_code == 403
    assert "ops:read" in denied.json()["error"]["message"]
    write = client.post(
        "/api/soak/runs",
        {"release": "v1.0.0-rc"},
        content_type="application/json",
        headers=api_key_headers(["ops:read"]),
    )
    assert write.status_code == 403


def test_it_lists_runs_and_snapshots_in_a_fixed_number_of_queries(
    client, api_key_headers, django_assert_max_num_queries
):
    headers = api_key_headers(["ops:read"])
    soaked_release(name="v0.8.0-rc")
    _, run = soaked_release(name="v0.9.0-rc", run_phase=Phase.FAILED)
    client.get("/api/soak/runs", headers=headers)  # warm the key cache
    with django_assert_max_num_queries(7):
        response = client.get("/api/soak/runs?phase=failed", headers=headers)
    body = response.json()
    assert [r["release"] for r in body["items"]] == ["v0.9.0-rc"] and body["count"] == 1
    # Guardian's reads, the run, the count, the page, its gates prefetched: not per row.
    for size in (1, 2):
        with django_assert_max_num_queries(9):
            snaps = client.get(
                f"/api/soak/runs/{run.pk}/snapshots?page_size={size}", headers=headers
            )
        page = snaps.json()
        assert page["count"] == 2 and len(page["items"]) == size
    assert {g["gate_id"] for g in page["items"][0]["gates"]} == {"soak-hours", "no-page-alerts"}
    gates = client.get(f"/api/soak/runs/{run.pk}/gates", headers=headers).json()
    assert [g["gate_id"] for g in gates] == ["no-page-alerts", "soak-hours"]
    assert client.get("/api/soak/runs?page=0", headers=headers).status_code == 422
    assert client.get(f"/api/soak/runs/{2**70}", headers=headers).status_code in (404, 422)
    assert client.get("/api/soak/releases", headers=headers).json()["count"] == 2


def test_it_starts_snapshots_and_aborts(client, api_key_headers, gates_file):
    headers = api_key_headers(["ops:read", "ops:write"])
    started = client.post(
        "/api/soak/runs",
        {"release": "v0.9.0-rc", "planned_hours": 2},
        content_type="application/json",
        headers=headers,
    )
    assert started.status_code == 201, started.content
    run = started.json()
    assert run["phase"] == "running" and run["planned_hours"] == 2
    again = client.post(
        "/api/soak/runs", {"release": "v1.0-rc"}, content_type="application/json", headers=headers
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "soak_running"
    bad = client.post(
        "/api/soak/runs",
        {"release": "x", "planned_hours": 0},
        content_type="application/json",
        headers=headers,
    )
    assert bad.status_code == 422
    snap = client.post(f"/api/soak/runs/{run['id']}/snapshots", headers=headers)
    assert snap.status_code == 201, snap.content
    assert {g["gate_id"] for g in snap.json()["gates"]} == {"soak-hours", "no-page-alerts"}
    abort = client.post(
        f"/api/soak/runs/{run['id']}/abort",
        {"reason": "wrong build"},
        content_type="application/json",
        headers=headers,
    )
    assert abort.status_code == 200 and abort.json()["phase"] == "aborted"
    assert SoakRun.objects.get(pk=run["id"]).aborted_reason == "wrong build"


def test_it_refuses_a_promotion_with_409_and_the_failing_gates(client, api_key_headers):
    soaked_release(FAILING, run_phase=Phase.FAILED)
    response = client.post(
        "/api/soak/releases/v0.9.0-rc/promote",
        {},
        content_type="application/json",
        headers=api_key_headers(["ops:read", "ops:write"]),
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "promotion_refused"
    failing = error["details"]["failing_gates"]
    assert [(g["gate"], g["comparator"], g["threshold"], g["value"]) for g in failing] == [
        ("pdp-p95", ">=", 0.95, 0.91)
    ]


def test_it_promotes_and_serves_the_pack(client, api_key_headers):
    release, _ = soaked_release()
    headers = api_key_headers(["ops:read", "ops:write"])
    assert client.get("/api/soak/releases/v0.9.0-rc/evidence", headers=headers).status_code == 404
    response = client.post(
        "/api/soak/releases/v0.9.0-rc/promote",
        {},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 202, response.content
    job = drive(Job.objects.get(pk=response.json()["id"]))
    assert job.status == "succeeded", job.error
    release.refresh_from_db()
    assert release.status == ReleaseStatus.PROMOTED
    pack = client.get("/api/soak/releases/v0.9.0-rc/evidence", headers=headers)
    assert pack.status_code == 200
    assert pack["Content-Disposition"].startswith("attachment")
    data = b"".join(pack.streaming_content)
    assert data == evidence.pack_path(release).read_bytes()
    assert zipfile.is_zipfile(evidence.pack_path(release))


def test_a_session_needs_the_django_permission(alice_client, bob_client):
    soaked_release()
    refused = alice_client.post(
        "/api/soak/releases/v0.9.0-rc/promote", {}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert alice_client.get("/api/soak/runs").status_code == 200
    allowed = bob_client.post(
        "/api/soak/releases/v0.9.0-rc/promote", {}, content_type="application/json"
    )
    assert allowed.status_code == 202


def test_it_is_in_the_ops_openapi_document(alice_client):
    paths = alice_client.get("/api/openapi.json").json()["paths"]
    operations = {
        op["operationId"]
        for path, methods in paths.items()
        if path.startswith("/api/soak/")
        for op in methods.values()
    }
    assert operations == {
        "soak_releases",
        "soak_runs_list",
        "soak_run_get",
        "soak_run_gates",
        "soak_run_snapshots",
        "soak_start",
        "soak_snapshot_take",
        "soak_abort",
        "soak_promote",
        "soak_decide",
        "soak_evidence",
    }
    refused = paths["/api/soak/releases/{name}/promote"]["post"]["responses"]
    assert "202" in refused

"""The soak pages: what they show, who sees the buttons, forms that refuse without a 500."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission

from jobs.models import Job
from soak.models import Phase, SoakRun
from tests.soak.promotion_helpers import GOOD, soaked_release

pytestmark = pytest.mark.django_db

FAILING = {**GOOD, "pdp-p95": (">=", 0.95, [0.97, 0.91], Phase.FAILED)}
SOAK_PERMS = ["add_soakrun", "add_snapshot", "change_soakrun", "change_release"]


@pytest.fixture
def coordinator(alice):
    """alice the coordinator: may start, snapshot, abort and promote (not staff)."""
    alice.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="soak", codename__in=SOAK_PERMS)
    )
    return alice


def test_it_needs_a_login(client):
    response = client.get("/soak/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_shows_the_run_gates_charts_and_history_in_fixed_queries(
    client, coordinator, django_assert_max_num_queries
):
    client.force_login(coordinator)
    soaked_release(name="v0.8.0-rc")
    soaked_release(FAILING, name="v0.9.0-rc", run_phase=Phase.FAILED)
    client.get("/soak/")
    with django_assert_max_num_queries(22):
        page = client.get("/soak/").content.decode()
    assert "v0.9.0-rc" in page and 'data-gate="pdp-p95"' in page
    row = re.search(r'<tr data-gate="pdp-p95">(.*?)</tr>', page, re.S).group(1)
    assert "failed" in row and "0.91" in row and "&gt;=" in row and "0.95" in row
    assert "query of pdp-p95" in row and "<svg" in row
    assert 'data-figure="fig-pdp-p95"' in page and '"threshold (\\u003e= 0.95)"' in page
    assert "pdp-p95 failed (needs &gt;= 0.95, actual 0.91)" in page
    assert page.count('href="/soak/runs/') >= 3  # permalink + two history rows
    # More snapshots and gates: the same number of queries.
    soaked_release(FAILING, name="v0.10.0-rc", run_phase=Phase.FAILED)
    with django_assert_max_num_queries(22):
        client.get("/soak/")


def test_the_buttons_show_only_with_the_permission(client, coordinator, charlie):
    soaked_release()
    client.force_login(charlie)
    page = client.get("/soak/").content.decode()
    assert 'data-action="promote"' not in page and 'data-action="start"' not in page
    refused = client.post("/soak/releases/v0.9.0-rc/promote", {})
    assert refused.status_code == 403
    client.force_login(coordinator)
    page = client.get("/soak/").content.decode()
    assert 'data-action="promote"' in page and 'data-action="start"' in page


def test_start_snapshot_abort_and_form_errors(client, coordinator, gates_file):
    client.force_login(coordinator)
    bad = client.post("/soak/start", {"release": "", "planned_hours": "0"})
    assert bad.status_code == 400 and "This field is required" in bad.content.decode()
    started = client.post("/soak/start", {"release": "v0.9.0-rc", "planned_hours": "2"})
    assert started.status_code == 302
    run = SoakRun.objects.get()
    again = client.post("/soak/start", {"release": "v1.0.0-rc", "planned_hours": "2"}, follow=True)
    assert "already running" in again.content.decode()
    snap = client.post(f"/soak/runs/{run.pk}/snapshot", follow=True)
    assert "Snapshot #" in snap.content.decode()
    assert run.snapshots.count() == 1
    empty = client.post(f"/soak/runs/{run.pk}/abort", {"reason": ""}, follow=True)
    assert "Say why" in empty.content.decode()
    client.post(f"/soak/runs/{run.pk}/abort", {"reason": "wrong build"})
    run.refresh_from_db()
    assert run.phase == Phase.ABORTED


def test_promote_refuses_with_a_message_and_starts_the_job(client, coordinator):
    client.force_login(coordinator)
    soaked_release(FAILING, run_phase=Phase.FAILED)
    refused = client.post("/soak/releases/v0.9.0-rc/promote", {}, follow=True)
    assert refused.status_code == 200
    assert "Promotion of v0.9.0-rc refused" in refused.content.decode()
    soaked_release(name="v1.0.0-rc")
    started = client.post("/soak/releases/v1.0.0-rc/promote", {})
    job = Job.objects.get(kind="promotion")
    assert started.status_code == 302 and started["Location"] == f"/jobs/{job.pk}/"
    assert client.post("/soak/releases/nope/promote", {}).status_code == 404


def test_the_overview_shows_the_soak_state(client, coordinator):
    client.force_login(coordinator)
    assert "No soak yet" in client.get("/").content.decode()
    soaked_release(run_phase=Phase.RUNNING)
    page = client.get("/").content.decode()
    block = re.search(r"<section[^>]*data-soak-state>(.*?)</section>", page, re.S).group(1)
    assert "v0.9.0-rc" in block and "running" in block and "48.00 of 48 h" in block


def test_a_run_has_its_own_page(client, coordinator):
    client.force_login(coordinator)
    _, old = soaked_release(name="v0.8.0-rc")
    soaked_release(name="v0.9.0-rc")
    page = client.get(f"/soak/runs/{old.pk}/").content.decode()
    assert "Soak: v0.8.0-rc" in page
    assert client.get("/soak/runs/999999/").status_code == 404

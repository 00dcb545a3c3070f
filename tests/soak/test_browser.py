"""/soak/ in a real browser: start a soak, take a snapshot, see the gate table and the
charts drawn, abort, and promote a soaked release through the buttons.

Headless Chromium from Debian driven by Playwright (tests/browser.py), against
pytest-django's live server; the promotion job's steps then run in this process.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from jobs.models import Job, JobStatus
from soak.models import Phase, ReleaseStatus, SoakRun
from tests.conftest import PASSWORD
from tests.soak.promotion_helpers import drive, soaked_release

pytestmark = pytest.mark.e2e

SOAK_PERMS = ["add_soakrun", "add_snapshot", "change_soakrun", "change_release"]


@pytest.mark.timeout(240)
def test_it_starts_snapshots_charts_and_promotes_in_a_browser(
    live_server, alice, browser_page, gates_file
):
    alice.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="soak", codename__in=SOAK_PERMS)
    )
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", alice.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    # Start a soak with the form.
    page.goto(f"{live_server.url}/soak/")
    page.fill("[data-start-form] input[name=release]", "v0.9.0-rc")
    page.fill("[data-start-form] input[name=planned_hours]", "2")
    page.click("[data-action=start]")
    page.wait_for_selector("[data-run-phase]")
    run = SoakRun.objects.get(release__name="v0.9.0-rc")
    assert run.phase == Phase.RUNNING and run.started_by == alice

    # Snapshot now: the gate table fills and plotly draws one chart per gate, with data.
    page.click("[data-action=snapshot]")
    page.wait_for_selector('[data-gate-table] tr[data-gate="soak-hours"]')
    page.wait_for_selector("#chart-soak-hours .main-svg")
    traces = page.evaluate("document.getElementById('chart-soak-hours').data.length")
    points = page.evaluate("document.getElementById('chart-soak-hours').data[0].x.length")
    assert traces == 2 and points == 1  # the series and its threshold line
    assert page.locator(".soak-chart.js-plotly-plot").count() == 2  # one per gate
    assert page.errors == []

    # Abort it, with a reason.
    page.fill("form input[name=reason]", "browser test")
    page.click("[data-action=abort]")
    page.wait_for_selector("text=aborted")
    run.refresh_from_db()
    assert run.phase == Phase.ABORTED and run.aborted_reason == "browser test"

    # Promote a soaked release with the button: the job page opens.
    release, _ = soaked_release(name="v0.8.0-rc")
    page.goto(f"{live_server.url}/soak/?release=v0.8.0-rc")
    page.click("[data-action=promote]")
    page.wait_for_url("**/jobs/*/")
    job = drive(Job.objects.get(kind="promotion"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    release.refresh_from_db()
    assert release.status == ReleaseStatus.PROMOTED and release.promoted_by == alice
    page.goto(f"{live_server.url}/soak/?release=v0.8.0-rc")
    assert page.locator("[data-evidence]").count() == 1
    assert page.errors == []

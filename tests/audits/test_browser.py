"""/audits/ in a real browser: the report and its gate badge, the plotly trends drawn, and
the run-audit button leading to the job's live progress.

Headless Chromium from Debian driven by Playwright (tests/browser.py) against
pytest-django's live server. No worker runs here: the job stays queued, and the
progress the page shows comes from polling the job's progress JSON (job.js).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audits.models import HealthReport
from jobs.models import Job
from tests.audits.reports import fixture_codebase, grant_run, make_report
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(240)
def test_it_shows_the_report_trends_and_the_audit_progress_in_a_browser(
    live_server, alice, browser_page, artifacts_dir
):
    grant_run(alice)
    codebase = fixture_codebase()
    now = timezone.now()
    make_report(
        codebase,
        status="error",
        started_at=now - timedelta(days=1),
        facts={"smoke.pass_percent": 50.0, "ruff.production": 4, "pip_audit.vulnerabilities": 1},
    )
    latest = make_report(
        codebase,
        status="ok",
        started_at=now,
        facts={"smoke.pass_percent": 80.0, "ruff.production": 2, "pip_audit.vulnerabilities": 0},
        ruff=[("E501", "production", "fixprod/util.py", 3)],
    )
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", alice.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/audits/")

    badge = page.locator('[data-codebase="fixture"] [data-gate-badge]')
    assert badge.inner_text() == "gate OK"
    for trend in ("smoke", "ruff", "coverage", "vulnerabilities"):  # plotly drew each one
        page.wait_for_selector(f'[data-trend="{trend}"] .main-svg')
    trends = page.locator(".audits-chart").evaluate_all("els => els.map(e => e.dataset.trend)")
    assert trends == ["smoke", "ruff", "coverage", "vulnerabilities"]
    points = page.evaluate(
        "document.querySelector('[data-trend=smoke]').data[0].y"
    )  # what plotly holds, not what the server sent
    assert points == [50, 80]
    page.screenshot(path=str(artifacts_dir / "audits-index.png"), full_page=True)

    # The report: every number links to its findings.
    page.click(f'a[href="/audits/reports/{latest.pk}/"]')
    page.click('[data-collector="ruff"] a[data-findings-link]')
    assert "fixprod/util.py:3" in page.locator("[data-findings]").inner_text()

    # Run an audit: a job starts and its page polls the progress.
    page.goto(f"{live_server.url}/audits/")
    page.click("[data-run-audit]")
    page.wait_for_selector("[data-audit-running]")
    job = Job.objects.get(kind="health-audit")
    report = HealthReport.objects.get(job=job)
    assert page.url.endswith(f"/audits/reports/{report.pk}/")
    # job.js fetched /jobs/<id>/progress and redrew the bar (the server rendered "?")
    expect(page.locator("[data-job-total]")).to_have_text(str(job.progress_total))
    assert page.locator("[data-job-status]").inner_text() == job.status
    page.screenshot(path=str(artifacts_dir / "audits-running.png"), full_page=True)

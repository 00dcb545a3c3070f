"""The MATRIZ page in a real browser: plotly draws the server-built charts, a query runs.

Headless Chromium from Debian (``/usr/bin/chromium``) driven by Playwright against
pytest-django's live server; skipped without that browser (failed under CI).
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import PASSWORD
from tests.services import unavailable

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def page(monkeypatch):
    if not os.path.exists(CHROMIUM):
        unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's ORM calls
    # between browser steps are plain synchronous calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        tab.errors = []
        tab.on("pageerror", lambda exc: tab.errors.append(str(exc)))
        yield tab
        context.close()
        browser.close()


@pytest.mark.timeout(240)
def test_it_draws_the_charts_and_runs_a_test_query_in_a_browser(
    live_server, bob, make_index, page, artifacts_dir
):
    make_index(texts=["The canary rollout stopped at 5 percent.", "Guardian denied the key."])
    page.goto(f"{live_server.url}/accounts/login/?next=/matriz/")
    page.fill("#id_username", bob.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#mz-chart-percentiles .main-svg")
    page.fill("#mz-query-form input[name=text]", "why did the canary stop?")
    page.click("#mz-query-form button[type=submit]")
    page.wait_for_selector('#mz-result[data-status="ok"]')
    assert "The canary rollout stopped at 5 percent." in page.inner_text(".mz-answer")
    page.wait_for_selector("#mz-chart-distribution .main-svg")
    assert page.locator("#mz-result tr[data-chain]").count() == 6
    page.screenshot(path=str(artifacts_dir / "matriz-page.png"), full_page=True)
    assert page.errors == []

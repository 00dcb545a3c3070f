"""Single sign-on in a real browser: Chromium from Debian, the local oidc-provider, the live site.

Launched and skipped/failed as tests/coordination/test_browser.py does: never
``playwright install``; the browser is /usr/bin/chromium (apt-installed if missing).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from django.contrib.auth import get_user_model

from accounts.models import SignInMethod, UserSession
from tests.services import IN_CI

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, apt-installed when missing; skipped (failed in CI) if that fails."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    problem = None
    if shutil.which("apt-get") is None:
        problem = "apt-get is not available"
    else:
        try:
            subprocess.run(
                "apt-get update && apt-get install -y chromium",
                shell=True,  # a fixed command line, as the set-up documents it
                check=True,
                capture_output=True,
                timeout=900,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            output = getattr(exc, "stderr", b"") or b""
            problem = f"apt-get install -y chromium failed: {exc} {output.decode()[-500:]}"
    if problem is None and os.path.exists(CHROMIUM):
        return CHROMIUM
    reason = f"{CHROMIUM} is missing and could not be installed ({problem or 'no binary'})"
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def browser_page(chromium, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the
    # test makes between browser steps are plain synchronous calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        yield page
        context.close()
        browser.close()


@pytest.mark.timeout(240)
def test_it_signs_in_with_the_provider_in_a_browser(
    live_server, start_provider, sso_settings, browser_page, artifacts_dir
):
    provider = start_provider(f"{live_server.url}/accounts/oidc/callback/")
    sso_settings(provider.issuer)
    page = browser_page

    page.goto(f"{live_server.url}/accounts/me/")  # not signed in: the login page
    page.wait_for_url("**/accounts/login/**")
    page.click("#sso-sign-in")
    page.wait_for_url(f"{provider.issuer}/**")  # the provider's own sign-in page
    page.fill("input[name=login]", "dana")
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/accounts/me/")
    assert page.locator("[data-username]").inner_text() == "dana@corp.example"
    assert page.locator("[data-groups]").inner_text() == "coordinators"
    dana = get_user_model().objects.get(username="dana@corp.example")
    assert dana.has_perm("coordination.change_task")
    assert UserSession.objects.get(user=dana).method == SignInMethod.SSO
    page.screenshot(path=str(artifacts_dir / "accounts-sso.png"), full_page=True)

    # Sign out everywhere ends this browser's session too.
    page.click("#sign-out-everywhere")
    page.wait_for_url("**/accounts/login/")
    assert "Signed out everywhere: 1 session ended." in page.content()
    assert page.errors == []

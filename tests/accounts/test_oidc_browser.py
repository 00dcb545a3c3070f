"""Single sign-on in a real browser: Chromium from Debian, the local oidc-provider, the live site.

Launched and skipped/failed as tests/coordination/test_browser.py does: never
``playwright install``; the browser is /usr/bin/chromium (apt-installed if missing).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from accounts.models import SignInMethod, UserSession

pytestmark = pytest.mark.e2e


@pytest.mark.viewport(1280, 900)
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

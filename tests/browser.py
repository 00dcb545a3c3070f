"""One headless browser for every app's browser tests: Debian's Chromium driven by Playwright.

Never ``playwright install``: the browser comes from the distribution,
apt-installed by the set-up when missing (a failure under ``CI=true``, a skip
elsewhere). ``browser_page`` opens a page at the viewport a test asks for with
``@pytest.mark.viewport(width, height)`` (1440 x 1000 by default) and keeps the
page's script errors in ``page.errors``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.services import IN_CI

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
def browser_page(chromium, monkeypatch, request):
    from playwright.sync_api import sync_playwright

    marker = request.node.get_closest_marker("viewport")
    width, height = marker.args if marker else (1440, 1000)
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the
    # test makes between browser steps are plain synchronous calls all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors
        yield page
        context.close()
        browser.close()

"""Content-Security-Policy on every answer, and pages that work under it in a real browser.

Issue 10, finding 2: there was no CSP, so a stored ``javascript:`` link or an
injected ``<script>`` ran. The policy forbids inline script and eval and
anything from another origin; the browser test loads the board, the
overview, the MATRIZ page, the admin and both API docs pages in Debian's
Chromium and fails on any violation the browser reports.
"""

from __future__ import annotations

import pytest
from django.core import checks as django_checks
from django.test import override_settings

from lukhas_site import checks
from tests.browser import CHROMIUM_ARGS, chromium  # noqa: F401 - fixture
from tests.conftest import PASSWORD

CSP = "Content-Security-Policy"


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


class TestHeader:
    def test_it_sends_the_policy_on_pages(self, alice_client):
        response = alice_client.get("/")
        assert response.status_code == 200
        policy = directives(response[CSP])
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]
        assert policy["img-src"] == ["'self'", "data:"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["form-action"] == ["'self'"]
        # Scripts only from files of this origin: no inline script, no eval, no
        # script-src-elem/attr that would widen it.
        assert not [name for name in policy if name.startswith("script-src-")]
        assert "'unsafe-eval'" not in response[CSP]
        # Inline styles only where plotly and two templates still need them.
        assert policy["style-src"] == ["'self'"]
        assert policy["style-src-elem"] == ["'self'", "'unsafe-inline'"]
        assert policy["style-src-attr"] == ["'unsafe-inline'"]

    def test_it_sends_the_policy_on_the_login_page_and_the_admin(self, client, bob_client):
        assert CSP in client.get("/accounts/login/")
        response = bob_client.get("/admin/")
        assert response.status_code == 200
        assert "script-src 'self'" in response[CSP]

    def test_it_sends_the_policy_on_api_answers(self, client, api_key_headers):
        headers = api_key_headers(scopes=["models:read", "ops:read"])
        models = client.get("/v1/models", headers=headers)
        assert models.status_code == 200
        assert "default-src 'self'" in models[CSP]
        refused = client.get("/api/guardian/me")
        assert refused.status_code == 401
        assert "default-src 'self'" in refused[CSP]
        unknown = client.get("/v1/nowhere", headers=headers)
        assert unknown.status_code == 404
        assert CSP in unknown

    @override_settings(
        CONTENT_SECURITY_POLICY=None,
        CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"default-src": ["'self'"]}},
    )
    def test_it_only_reports_in_report_only_mode(self, client):
        response = client.get("/accounts/login/")
        assert CSP not in response
        assert response["Content-Security-Policy-Report-Only"] == "default-src 'self'"


class TestDeployCheck:
    def test_it_is_quiet_when_the_policy_is_enforced_in_production(self, settings):
        settings.PRODUCTION = True
        assert checks.check_csp() == []

    def test_it_warns_when_csp_is_switched_off_in_production(self, settings):
        settings.PRODUCTION = True
        settings.CONTENT_SECURITY_POLICY_ENABLED = False
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("csp.")]
        (warning,) = checks.check_csp()
        assert warning.id == "lukhas.W030"
        assert "LUKHAS_CSP_ENABLED=false" in warning.msg

    def test_it_warns_when_the_middleware_is_missing(self, settings):
        settings.PRODUCTION = True
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("csp.")]
        (warning,) = checks.check_csp()
        assert warning.id == "lukhas.W030"
        assert "CSPMiddleware" in warning.msg

    def test_it_warns_when_the_policy_is_only_reported(self, settings):
        settings.PRODUCTION = True
        settings.CONTENT_SECURITY_POLICY = None
        (warning,) = checks.check_csp()
        assert "REPORT_ONLY" in warning.msg

    def test_it_runs_under_check_deploy(self, settings):
        settings.PRODUCTION = True
        settings.CONTENT_SECURITY_POLICY_ENABLED = False
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("csp.")]
        found = django_checks.run_checks(include_deployment_checks=True)
        assert "lukhas.W030" in {message.id for message in found}
        assert "lukhas.W030" not in {message.id for message in django_checks.run_checks()}

    def test_it_is_quiet_in_development(self, settings):
        settings.PRODUCTION = False
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("csp.")]
        assert checks.check_csp() == []


# Recorded before any page script runs (an init script is not subject to the page's CSP).
_RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + (e.sourceFile || document.location.pathname) + ":" + e.lineNumber);
});
"""


@pytest.fixture
def csp_page(chromium, monkeypatch):  # noqa: F811 - the fixture imported above
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        context.add_init_script(_RECORD_VIOLATIONS)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.console_csp = []
        page.errors = []
        page.on(
            "console",
            lambda message: (
                page.console_csp.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        yield page
        context.close()
        browser.close()


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations") + page.console_csp


@pytest.mark.e2e
@pytest.mark.timeout(240)
def test_it_renders_the_pages_and_their_charts_without_a_csp_violation(
    live_server, bob, csp_page, artifacts_dir
):
    from coordination.services.plan_import import plan_import_data
    from tests.coordination.conftest import COORDINATION_PLAN

    plan_import_data(
        data=COORDINATION_PLAN.read_bytes(), source_name=COORDINATION_PLAN.name, by="test"
    )
    page = csp_page
    response = page.goto(f"{live_server.url}/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#id_username", bob.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    seen = {}
    for path, ready in [
        ("/", "[data-poll] .readiness"),
        ("/coordination/", ".coord-chart .main-svg"),
        ("/matriz/", "#mz-chart-percentiles .main-svg"),
        ("/admin/", "#site-name"),
        ("/admin/coordination/task/", "#result_list"),
        ("/api/docs", ".swagger-ui .info"),
        ("/v1/docs", ".swagger-ui .info"),
    ]:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert "content-security-policy" in response.headers, path
        page.wait_for_selector(ready)
        if path == "/matriz/":
            # The modebar (with its injected style rules) appears on hover.
            page.hover("#mz-chart-percentiles")
            page.wait_for_selector("#mz-chart-percentiles .modebar")
        page.wait_for_timeout(300)
        seen[path] = _violations(page)
        if path == "/coordination/":
            page.screenshot(path=str(artifacts_dir / "csp-board.png"), full_page=True)
        if path == "/matriz/":
            page.screenshot(path=str(artifacts_dir / "csp-matriz.png"), full_page=True)
    assert {path: found for path, found in seen.items() if found} == {}
    assert page.errors == []
    # The charts were drawn by plotly, not left empty.
    page.goto(f"{live_server.url}/coordination/")
    page.wait_for_selector(".coord-chart .main-svg")
    assert page.locator(".coord-chart .main-svg").count() >= 3
    assert page.locator(".coord-chart .plot-container").count() >= 3

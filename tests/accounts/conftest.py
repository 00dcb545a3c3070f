"""Fixtures of the sign-in tests: a login helper, metric samples, a real OIDC provider.

The provider is the npm package ``oidc-provider`` (pinned in
``oidc/package-lock.json``), installed with ``npm ci`` on first use and started
by the test on a free loopback port; nothing here reaches the Internet.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from accounts import oidc
from tests.guardian.helpers import free_port, sample
from tests.services import unavailable

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "lukhas-ops"
CLIENT_SECRET = "test-only-client-secret"
# The provider's people: their e-mail and groups claims.
PROVIDER_USERS = {
    "dana": {
        "email": "dana@corp.example",
        "email_verified": True,
        "given_name": "Dana",
        "family_name": "Release",
        "groups": ["lukhas-release"],
    },
    "erin": {
        "email": "erin@corp.example",
        "email_verified": True,
        "groups": ["lukhas-admins", "lukhas-release"],
    },
    "mallory": {
        "email": "mallory@elsewhere.example",
        "email_verified": True,
        "groups": ["lukhas-release"],
    },
    "frank": {"email": "frank@corp.example", "email_verified": True, "groups": ["finance"]},
}
GROUP_MAP = {
    "lukhas-release": {"groups": ["coordinators"], "permissions": ["coordination.change_task"]},
    "lukhas-admins": {"groups": ["maintainers"], "staff": True},
}


def attempts(outcome: str) -> float:
    return sample("lukhas_login_attempts_total", outcome=outcome)


def sign_in(client, username: str, password: str, *, address: str = "203.0.113.7", **extra):
    """One POST of the dashboard's login form from ``address``."""
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        **extra,
    )


@pytest.fixture(autouse=True)
def _fresh_provider_metadata():
    oidc.forget_provider_metadata()
    yield
    oidc.forget_provider_metadata()


@pytest.fixture(scope="session")
def oidc_provider_install() -> Path:
    """``npm ci`` of the pinned provider (once); skipped locally, failed in CI, when it cannot."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        unavailable("node/npm are not installed (Debian: apt-get install nodejs npm)")
    marker = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
    lock = OIDC_DIR / "package-lock.json"
    installed_lock = OIDC_DIR / "node_modules" / ".package-lock.json"
    stale = not installed_lock.exists() or installed_lock.stat().st_mtime < lock.stat().st_mtime
    if not marker.exists() or stale:
        try:
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--loglevel", "error"],
                cwd=OIDC_DIR,
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            output = (getattr(exc, "stderr", b"") or b"").decode(errors="replace")[-800:]
            unavailable(f"npm ci of tests/accounts/oidc failed: {exc} {output}")
    return OIDC_DIR


@dataclass
class OidcProvider:
    issuer: str
    proc: subprocess.Popen
    log_path: Path
    redirect_uris: list[str] = field(default_factory=list)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def start_provider(oidc_provider_install, tmp_path):
    """Start the provider with these redirect URIs (the site's callback) and PROVIDER_USERS."""
    started: list[OidcProvider] = []

    def start(*redirect_uris: str) -> OidcProvider:
        port = free_port()
        config = tmp_path / f"provider-{port}.json"
        config.write_text(
            json.dumps(
                {
                    "port": port,
                    "clients": [
                        {
                            "client_id": CLIENT_ID,
                            "client_secret": CLIENT_SECRET,
                            "redirect_uris": list(redirect_uris),
                            "grant_types": ["authorization_code"],
                            "response_types": ["code"],
                            "token_endpoint_auth_method": "client_secret_post",
                        }
                    ],
                    "users": PROVIDER_USERS,
                }
            )
        )
        log_path = tmp_path / f"provider-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                ["node", "provider.mjs", str(config)],
                cwd=oidc_provider_install,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        provider = OidcProvider(f"http://127.0.0.1:{port}", proc, log_path, list(redirect_uris))
        started.append(provider)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"oidc-provider exited:\n{provider.output()}")
            try:
                discovery = httpx.get(oidc.discovery_url(provider.issuer), timeout=1)
                if discovery.status_code == 200:
                    return provider
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"oidc-provider not ready:\n{provider.output()}")

    yield start
    for provider in started:
        provider.stop()


@pytest.fixture
def sso_settings(settings):
    """Single sign-on switched on for a provider: call with its issuer."""

    def configure(issuer: str, **overrides) -> None:
        settings.OIDC_ENABLED = True
        settings.OIDC_ISSUER = issuer
        settings.OIDC_RP_CLIENT_ID = CLIENT_ID
        settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
        settings.OIDC_ALLOWED_DOMAINS = ["corp.example"]
        settings.OIDC_ALLOWED_GROUPS = []
        settings.OIDC_GROUP_MAP = GROUP_MAP
        settings.OIDC_PROVIDER_NAME = "Corp SSO"
        settings.OIDC_RP_SCOPES = "openid email profile groups"
        settings.AUTHENTICATION_BACKENDS = [
            "accounts.backends.LockoutBackend",
            "django.contrib.auth.backends.ModelBackend",
            "accounts.oidc.SignInBackend",
        ]
        for name, value in overrides.items():
            setattr(settings, name, value)

    return configure


def provider_login(authorize_url: str, issuer: str, login: str, site_prefix: str) -> str:
    """Walk the provider's pages like a browser would; the callback URL it sends us back to."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        response = browser.get(authorize_url)
        for _ in range(10):
            location = response.headers.get("location", "")
            if location.startswith(site_prefix):
                return location
            if response.status_code in (302, 303):
                response = browser.get(urljoin(issuer, location))
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            assert form, f"no form on the provider's page:\n{response.text[:2000]}"
            fields = {"prompt": "login", "login": login, "password": "any password"}
            response = browser.post(urljoin(issuer, form.group(1)), data=fields)
        raise AssertionError(f"the provider never sent the browser back to {site_prefix}")

"""Sign-in's configuration: mistakes stop the process with the variable's name; checks warn."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.services import REPO


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LUKHAS_")}
    base["LUKHAS_VAR_DIR"] = os.environ.get("LUKHAS_VAR_DIR", "var/test")
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


OIDC = {
    "LUKHAS_OIDC_ENABLED": "true",
    "LUKHAS_OIDC_ISSUER": "https://idp.example",
    "LUKHAS_OIDC_CLIENT_ID": "ops",
}
MISTAKES = [
    pytest.param(
        {"LUKHAS_LOGIN_PASSWORD": "false"},
        "LUKHAS_LOGIN_PASSWORD=false leaves no way to sign in",
        id="no-way-in",
    ),
    pytest.param(
        {"LUKHAS_LOGIN_CLIENT_IP_HEADER": "X-Forwarded-For"},
        "LUKHAS_LOGIN_CLIENT_IP_HEADER needs LUKHAS_LOGIN_TRUSTED_PROXIES",
        id="header-without-proxies",
    ),
    pytest.param(
        {"LUKHAS_LOGIN_TRUSTED_PROXIES": "10.0.0.0/33"},
        "LUKHAS_LOGIN_TRUSTED_PROXIES",
        id="bad-network",
    ),
    pytest.param({"LUKHAS_LOGIN_FAILURE_LIMIT": "0"}, "must be at least 1", id="zero-limit"),
    pytest.param(
        {"LUKHAS_SESSION_IDLE_SECONDS": "90000"},
        "LUKHAS_SESSION_IDLE_SECONDS must be positive and at most",
        id="idle-over-lifetime",
    ),
    pytest.param(OIDC, "needs LUKHAS_OIDC_CLIENT_SECRET_FILE", id="no-secret-file"),
    pytest.param(
        {**OIDC, "LUKHAS_OIDC_CLIENT_SECRET_FILE": "/nonexistent"},
        "LUKHAS_OIDC_CLIENT_SECRET_FILE: [Errno 2]",
        id="missing-secret-file",
    ),
    pytest.param(
        {"LUKHAS_OIDC_GROUP_MAP": '{"x": {"admin": true}}'},
        "may only have groups, permissions",
        id="unknown-map-key",
    ),
    pytest.param(
        {"LUKHAS_OIDC_GROUP_MAP": '{"x": {"permissions": ["nodot"]}}'},
        "app_label.codename",
        id="bad-permission-name",
    ),
]


@pytest.mark.parametrize(("env", "message"), MISTAKES)
def test_it_refuses_to_start_with_a_sign_in_mistake(env, message):
    result = _run("import lukhas_site.settings", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_it_reads_the_client_secret_from_its_file(tmp_path):
    secret = tmp_path / "client-secret"
    secret.write_text("s3cr3t-from-file\n")
    result = _run(
        "import lukhas_site.settings as s; "
        "print(s.OIDC_RP_CLIENT_SECRET, s.AUTHENTICATION_BACKENDS, sep='|')",
        **OIDC,
        LUKHAS_OIDC_CLIENT_SECRET_FILE=str(secret),
        LUKHAS_LOGIN_PASSWORD="false",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    secret_read, backends = result.stdout.strip().split("|")
    assert secret_read == "s3cr3t-from-file"
    assert "ModelBackend" not in backends
    assert "accounts.oidc.SignInBackend" in backends

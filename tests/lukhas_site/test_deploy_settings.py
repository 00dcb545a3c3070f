"""Production mode: `check --deploy` is clean; mistakes fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.services import REPO

PRODUCTION_ENV = {
    "LUKHAS_ENV": "production",
    "LUKHAS_SECRET_KEY": "x7!Kq2#pLm9vR4tY8wZ1bN6cD3fG5hJ0sA-uE_iO+oP=lK*jH&gF^dS%aQ$wE@r",
    "LUKHAS_ALLOWED_HOSTS": "ops.lukhas.example",
    "DATABASE_URL": "postgres://lukhas@db.internal:5432/lukhas",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "LUKHAS_METRICS_TOKEN": "scrape-token-of-the-test",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LUKHAS_", "DATABASE_URL"))}
    base.pop("REDIS_URL", None)
    base["LUKHAS_VAR_DIR"] = os.environ.get("LUKHAS_VAR_DIR", "var/test")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_check_deploy_in_production_mode():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_warns_when_production_runs_on_embedded_services():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "lukhas.W001" in result.stderr
    assert "lukhas.W002" in result.stderr


def test_it_warns_when_production_metrics_have_no_token():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "LUKHAS_METRICS_TOKEN"}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "lukhas.W010" in result.stderr
    assert "/metrics refuses every scrape" in result.stderr


def test_it_warns_when_production_metrics_are_public_on_purpose():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "LUKHAS_METRICS_TOKEN"}
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", LUKHAS_METRICS_PUBLIC="true", **env
    )
    assert result.returncode != 0
    assert "lukhas.W011" in result.stderr
    assert "lukhas.W010" not in result.stderr


def test_it_refuses_production_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "LUKHAS_SECRET_KEY"}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "LUKHAS_SECRET_KEY is required" in result.stderr


def test_it_names_the_variable_of_a_bad_value():
    result = _manage("check", LUKHAS_DEBUG="maybe")
    assert result.returncode != 0
    assert "LUKHAS_DEBUG='maybe' is not a boolean" in result.stderr


def test_it_never_creates_the_demo_admin_in_production():
    result = _manage("ensure_demo_admin", **PRODUCTION_ENV)
    assert result.returncode != 0
    assert "never created when LUKHAS_ENV=production" in result.stderr

"""The /v1 checks through node's official ``openai`` package against a live server.

tests/js/sdk.test.mjs holds them (node's test runner); this starts the site
with aliases and CORS on, installs the pinned package from its lock file and
reads the runner's counts. Without node or npm: a skip here, a failure under
CI=true (tests.services.unavailable).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.live import live_site  # noqa: F401
from tests.services import REPO, unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JS = REPO / "tests" / "js"
ORIGIN = "https://console.example"
ALIASES = "gpt-4o-mini=lukhas-matriz-1,gpt-echo=matriz-echo,text-embedding-3-small=lukhas-embed-1"
SCOPES = ["models:read", "responses:write", "embeddings:write", "indexes:read", "indexes:write"]


def npm_ci() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        unavailable("node/npm are not installed (Debian: apt-get install nodejs npm)")
    lock, installed = JS / "package-lock.json", JS / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(
        ["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error"],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        unavailable(f"npm ci in tests/js failed: {done.stderr[-800:]}")


def test_the_node_sdk_passes_every_check(live_site, mint_key):  # noqa: F811
    npm_ci()
    site = live_site(LUKHAS_MODEL_ALIASES=ALIASES, LUKHAS_CORS_ORIGINS=ORIGIN)
    key, _ = mint_key(scopes=SCOPES)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "LUKHAS_API"))},
        "OPENAI_BASE_URL": f"{site.base}/v1",
        "OPENAI_API_KEY": key,
        "LUKHAS_CORS_ORIGIN": ORIGIN,
    }
    done = subprocess.run(
        ["node", "--test", "--test-reporter=tap", "sdk.test.mjs"],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = done.stdout[-8000:] + done.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)$", done.stdout, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", done.stdout, re.MULTILINE)
    assert passed and failed, log
    assert int(failed.group(1)) == 0 and done.returncode == 0, log
    assert int(passed.group(1)) == done.stdout.count("\nok "), log
    assert int(passed.group(1)) >= 11, log  # every check ran, none was skipped

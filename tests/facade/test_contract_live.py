"""The shipped examples and the eval cases, against the live façade (not the fake)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.live import live_site  # noqa: F401
from tests.services import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXAMPLES = [
    "responses_minimal",
    "responses_streaming",
    "embeddings",
    "indexes_crud",
    "dreams_basic",
]


@pytest.fixture
def live(live_site, mint_key):  # noqa: F811
    plaintext, _ = mint_key()
    site = live_site()
    return f"{site.base}/v1", plaintext


@pytest.mark.parametrize("name", EXAMPLES)
def test_it_runs_each_example_against_the_live_site(live, name, request):
    if name == "dreams_basic":
        request.getfixturevalue("celery_worker")
    base_url, key = live
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "python" / f"{name}.py")],
        env={**os.environ, "LUKHAS_BASE_URL": base_url, "LUKHAS_API_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_it_passes_the_evals(live, celery_worker, tmp_path):
    base_url, key = live
    out = tmp_path / "evals.json"
    done = subprocess.run(
        [sys.executable, "-m", "evals", "--base-url", base_url, "--api-key", key,
         "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    report = json.loads(out.read_text()) if out.exists() else {}
    assert report.get("accuracy", 0) >= 0.70, done.stdout[-4000:] + done.stderr[-2000:]

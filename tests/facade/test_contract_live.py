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


def test_it_passes_the_evals(tmp_path):
    # `python -m evals` as a user runs it: its own throwaway server with a worker and
    # make run's demo data (the ops questions ask about it), through the official SDK.
    out = tmp_path / "evals.json"
    done = subprocess.run(
        [sys.executable, "-m", "evals", "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = json.loads(out.read_text()) if out.exists() else {}
    log = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0 and report.get("accuracy") == 1.0, log
    assert report["passed"] >= 51, log  # the ops questions ran too, not only the shape checks

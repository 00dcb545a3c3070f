"""The eval cases against the live façade (not the fake).

The shipped examples run live in tests/examples/test_examples.py
(``make -C examples test``: every Python and JS script, one server).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.services import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


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

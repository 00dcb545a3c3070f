"""`make -C examples test` as a user runs it: every Python and JS example against a live server.

The Makefile installs the pinned Node SDK (``npm ci``), starts one throwaway
server (evals/server.py) with a worker, and runs each script with
OPENAI_BASE_URL / OPENAI_API_KEY; a script exits non-zero when its answer is
not what it promises, so the counts it prints are the verdict.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.contract.fake_openai import FakeOpenAI
from tests.services import REPO, unavailable

EXAMPLES = REPO / "examples"
PYTHON = sorted(path.stem for path in (EXAMPLES / "python").glob("*.py"))
JS = sorted(path.stem for path in (EXAMPLES / "js").glob("*.mjs"))
COUNTS = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)


def require_node() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        unavailable("node/npm are not installed (Debian: apt-get install nodejs npm)")


@pytest.fixture(scope="module")
def node_sdk() -> None:
    """The pinned Node SDK in examples/js/node_modules (``npm ci`` when missing or stale)."""
    require_node()
    lock = EXAMPLES / "js" / "package-lock.json"
    installed = EXAMPLES / "js" / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            ["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error"],
            cwd=EXAMPLES / "js",
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            unavailable(f"npm ci in examples/js failed: {done.stderr[-800:]}")


def test_it_has_the_same_examples_in_python_and_js_each_with_a_readme_row():
    assert PYTHON == JS
    assert {"responses_minimal", "responses_with_tools", "dreams_basic", "indexes_crud"} <= set(
        PYTHON
    )
    readme = (EXAMPLES / "README.md").read_text()
    for name in PYTHON:
        assert f"(python/{name}.py)" in readme and f"(js/{name}.mjs)" in readme, name
    for path in [*(EXAMPLES / "python").glob("*.py"), *(EXAMPLES / "js").glob("*.mjs")]:
        assert "OPENAI_API_KEY" in path.read_text(), path.name


def test_it_exits_two_without_a_key_and_one_on_a_refusal_in_js(node_sdk):
    # The Python side of these exit codes is tests/contract/test_examples.py.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "LUKHAS_API_KEY")}
    with FakeOpenAI() as fake:
        for name in JS:
            script = [shutil.which("node"), str(EXAMPLES / "js" / f"{name}.mjs")]
            run = {"capture_output": True, "text": True, "timeout": 60, "check": False}
            keyless = subprocess.run(script, env=env, **run)
            assert keyless.returncode == 2, (name, keyless.stderr)
            assert "Set OPENAI_API_KEY" in keyless.stderr
            wrong = {**env, "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "lk-wrong"}
            refused = subprocess.run(script, env=wrong, **run)
            assert refused.returncode == 1, (name, refused.stderr)
            assert "The API refused (AuthenticationError)" in refused.stderr, name


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_it_runs_every_example_with_make():
    require_node()
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(EXAMPLES), "test"],
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    log = done.stdout[-6000:] + done.stderr[-3000:]
    counts = COUNTS.findall(done.stdout)
    assert counts, log
    passed, failed = (int(n) for n in counts[-1])
    assert (passed, failed) == (len(PYTHON) + len(JS), 0), log
    assert done.returncode == 0, log
    for name in PYTHON:
        assert f"PASS  python/{name}.py" in done.stdout and f"PASS  js/{name}.mjs" in done.stdout

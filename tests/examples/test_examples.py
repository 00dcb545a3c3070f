"""`make -C examples test` as a user runs it: every Python and JS example against a live server.

The Makefile installs the pinned Node SDK (``npm ci``), starts one throwaway
server (evals/server.py) with a worker, and runs each script with
OPENAI_BASE_URL / OPENAI_API_KEY; a script exits non-zero when its answer is
not what it promises, so the counts it prints are the verdict.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.services import REPO, unavailable

EXAMPLES = REPO / "examples"
PYTHON = sorted(path.stem for path in (EXAMPLES / "python").glob("*.py"))
JS = sorted(path.stem for path in (EXAMPLES / "js").glob("*.mjs"))
COUNTS = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)


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


@pytest.mark.e2e
@pytest.mark.timeout(900)
def test_it_runs_every_example_with_make():
    if shutil.which("node") is None or shutil.which("npm") is None:
        unavailable("node/npm are not installed (Debian: apt-get install nodejs npm)")
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

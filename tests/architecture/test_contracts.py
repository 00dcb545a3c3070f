"""The import contracts of pyproject.toml hold, and `lint-imports` bites when one is broken.

The breaking cases run on a copy of the packages in a temporary folder, so a
test killed half-way can never leave a forbidden import in the real tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of pyproject.toml and every root package named in its contracts."""
    copy = tmp_path_factory.mktemp("contracts")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    for package in config["root_packages"]:
        if (ROOT / package).is_dir():
            shutil.copytree(
                ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
            )
    return copy


def test_it_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "expected"),
    [
        # An app importing the composition root.
        ("guardian/_probe.py", "import lukhas_site.urls", "no-root", "lukhas_site.urls"),
        # Django creeping into the pure engine.
        ("matriz/engine/_probe.py", "import django.db", "pure", "django"),
        # A model module reaching up into the services layer.
        ("coordination/models.py", "import coordination.services", "layers", "coordination"),
        # A selector importing a service back: a cycle.
        ("guardian/selectors.py", "import guardian.services", "acyclic", "guardian"),
    ],
    ids=["root", "pure", "layers", "cycle"],
)
def test_it_fails_on_a_forbidden_import(tree, module, line, contract, expected):
    target = tree / module
    original = target.read_text() if target.exists() else None
    target.write_text((original or "") + f"\n{line}  # contract probe\n")
    try:
        result = lint_imports(tree, "--contract", contract)
    finally:
        if original is None:
            target.unlink()
        else:
            target.write_text(original)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "BROKEN" in result.stdout
    assert expected in result.stdout

"""Import discipline of the whole codebase, proven by walking its ASTs.

* Code is loaded by name only in ``matriz/engine/registry.py``: nowhere else
  may ``importlib.import_module`` or ``__import__`` appear (call, attribute or
  ``from importlib import import_module``), so every dynamic load goes through
  the registry, where it is logged and listed.
* ``matriz/engine`` never imports Django, so it runs and benchmarks alone.

Walks every .py under the project root except .venv, var, the registry module
itself, and caches/build output that are not source.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
REGISTRY_MODULE = ROOT / "matriz" / "engine" / "registry.py"
ENGINE = ROOT / "matriz" / "engine"
EXCLUDED_DIRS = {".venv", "var", ".git", "__pycache__", ".pytest_cache", ".ruff_cache", "build"}
DYNAMIC_IMPORTERS = {"import_module", "__import__"}


def python_files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root)
        if any(part in EXCLUDED_DIRS or part.endswith(".egg-info") for part in relative.parts):
            continue
        found.append(path)
    return sorted(found)


def dynamic_import_uses(source: str, filename: str = "<string>") -> list[str]:
    """Lines that import code by name: import_module / __import__ in any spelling."""
    uses = []
    calls = set()  # ast.walk is breadth-first: a Call comes before its func Attribute
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Call):
            func = node.func
            calls.add(id(func))
            if isinstance(func, ast.Name) and func.id in DYNAMIC_IMPORTERS:
                uses.append(f"{filename}:{node.lineno}: {func.id}(...)")
            elif isinstance(func, ast.Attribute) and func.attr in DYNAMIC_IMPORTERS:
                uses.append(f"{filename}:{node.lineno}: .{func.attr}(...)")
        elif isinstance(node, ast.ImportFrom) and node.module == "importlib":
            for alias in node.names:
                if alias.name in DYNAMIC_IMPORTERS:
                    uses.append(f"{filename}:{node.lineno}: from importlib import {alias.name}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in DYNAMIC_IMPORTERS
            and id(node) not in calls
        ):
            # A reference without a call (``loader = importlib.import_module``) counts too.
            uses.append(f"{filename}:{node.lineno}: reference to .{node.attr}")
    return sorted(set(uses))


def django_imports(source: str, filename: str = "<string>") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        found += [f"{filename}:{node.lineno}: {n}" for n in names if n.split(".")[0] == "django"]
    return found


def test_it_finds_every_spelling_of_a_dynamic_import() -> None:
    source = textwrap.dedent(
        """
        import importlib
        from importlib import import_module
        from importlib import import_module as load
        a = importlib.import_module("x")
        b = import_module("y")
        c = __import__("z")
        d = importlib.__import__("w")
        e = importlib.import_module
        import importlib.metadata
        """
    )
    uses = dynamic_import_uses(source)
    lines = {int(use.split(":")[1]) for use in uses}
    assert lines == {3, 4, 5, 6, 7, 8, 9}, uses


def test_it_leaves_ordinary_imports_alone() -> None:
    source = "import importlib.metadata\nfrom importlib.metadata import entry_points\nimport os\n"
    assert dynamic_import_uses(source) == []


def test_it_finds_django_imports() -> None:
    source = "import django\nfrom django.db import models\nimport djangoish\nfrom . import x\n"
    assert [use.split(": ")[1] for use in django_imports(source)] == ["django", "django.db"]


def test_it_walks_the_codebase_and_skips_what_it_should() -> None:
    files = python_files(ROOT)
    assert Path(__file__).resolve() in files
    assert REGISTRY_MODULE in files  # found, then exempted by name below
    assert not any(".venv" in p.relative_to(ROOT).parts for p in files)


def test_it_imports_code_by_name_only_in_the_registry() -> None:
    violations = []
    for path in python_files(ROOT):
        if path == REGISTRY_MODULE:
            continue
        source = path.read_text(encoding="utf-8")
        violations += dynamic_import_uses(source, str(path.relative_to(ROOT)))
    assert not violations, (
        "import code by name only through matriz.engine.registry "
        "(a plain import, or Registry.register_target / resolve):\n" + "\n".join(violations)
    )


def test_it_keeps_the_registry_as_the_one_dynamic_importer() -> None:
    # If the registry stopped using import_module, the exemption would be dead weight.
    assert dynamic_import_uses(REGISTRY_MODULE.read_text(encoding="utf-8"))


def test_it_keeps_django_out_of_the_engine() -> None:
    violations = []
    for path in python_files(ENGINE):
        violations += django_imports(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not violations, "matriz/engine must not import Django:\n" + "\n".join(violations)


@pytest.mark.parametrize("module", ["matriz.engine"])
def test_it_imports_the_engine_without_loading_django(module: str) -> None:
    probe = (
        f"import sys, {module}, {module}.pipeline, {module}.registry; "
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr

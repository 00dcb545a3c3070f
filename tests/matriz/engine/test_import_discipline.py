"""Code is loaded by name only in ``matriz/engine/registry.py``, proven by walking the ASTs.

Nowhere else may ``importlib.import_module`` or ``__import__`` appear (call,
attribute or ``from importlib import import_module``), so every dynamic load
goes through the registry, where it is logged and listed. (That
``matriz/engine`` imports no Django is the ``pure`` import-linter contract
in pyproject.toml, checked by ``make lint``.)

Walks every .py under the project root except .venv, var, the registry module
itself, and caches/build output that are not source.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
REGISTRY_MODULE = ROOT / "matriz" / "engine" / "registry.py"
# The jobs app loads the flow modules named by LUKHAS_FLOW_MODULES, as Django
# loads INSTALLED_APPS: the one other place that imports by name.
FLOW_LOADER = ROOT / "jobs" / "flows.py"
DYNAMIC_LOADERS = (REGISTRY_MODULE, FLOW_LOADER)
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


def test_it_walks_the_codebase_and_skips_what_it_should() -> None:
    files = python_files(ROOT)
    assert Path(__file__).resolve() in files
    assert REGISTRY_MODULE in files  # found, then exempted by name below
    assert not any(".venv" in p.relative_to(ROOT).parts for p in files)


def test_it_imports_code_by_name_only_in_the_registry() -> None:
    violations = []
    for path in python_files(ROOT):
        if path in DYNAMIC_LOADERS:
            continue
        source = path.read_text(encoding="utf-8")
        violations += dynamic_import_uses(source, str(path.relative_to(ROOT)))
    assert not violations, (
        "import code by name only through matriz.engine.registry "
        "(a plain import, or Registry.register_target / resolve):\n" + "\n".join(violations)
    )


def test_it_keeps_the_registry_as_the_one_dynamic_importer() -> None:
    # If a loader stopped using import_module, its exemption would be dead weight.
    for loader in DYNAMIC_LOADERS:
        assert dynamic_import_uses(loader.read_text(encoding="utf-8")), loader

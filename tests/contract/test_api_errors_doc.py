"""docs/API_ERRORS.md lists every error code the API can answer, and no other.

The codes are collected from the source with ``ast``, because most are
given where the refusal is raised (``NotFound(..., code="index_not_found")``)
rather than on a class: the class defaults of every ``LukhasError`` subclass,
the ``code=`` of every call that builds one, and the ``{"code", "message"}``
error objects of the streams and background responses. A ``code=`` that is
not a literal fails the test too: the doc can only follow literals.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

# Imported, not only parsed: their error classes subclass LukhasError only once loaded,
# and a default code's row must say the status and type the class really answers with.
from coordination.services import plan_import
from lukhas_site.errors import LukhasError
from matriz import tooling
from matriz.facade import structured
from tests.services import REPO

DOC = REPO / "docs" / "API_ERRORS.md"
APPS = ["lukhas_site", "guardian", "matriz", "jobs", "soak", "audits", "coordination", "accounts"]
# A row of the doc's tables: | `code` | status | `type` | when | what to do |
ROW = re.compile(r"^\| `([a-z0-9_]+)` \| (\d{3}(?:, \d{3})*) \| `([a-z_]+)` \|", re.M)


def _sources() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((REPO / app).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def _literals(node: ast.expr) -> list[str] | None:
    """The string(s) an expression can be: a constant, or either arm of a conditional."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literals(node.body), _literals(node.orelse)
        return None if body is None or orelse is None else body + orelse
    return None


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _base_names(node: ast.ClassDef) -> set[str]:
    return {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}


def _error_classes(trees: list[ast.Module]) -> set[str]:
    """LukhasError and every class deriving from it, across modules (subclasses of subclasses)."""
    classes = {"LukhasError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                is_class = isinstance(node, ast.ClassDef) and node.name not in classes
                if is_class and _base_names(node) & classes:
                    classes.add(node.name)
                    grew = True
    return classes


def _class_default(node: ast.ClassDef) -> list[tuple[str, ast.stmt]]:
    """The ``code = "..."`` (or ``code: str = "..."``) of a class body."""
    found = []
    for statement in node.body:
        if isinstance(statement, ast.Assign):
            names = [t.id for t in statement.targets if isinstance(t, ast.Name)]
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names = [statement.target.id]
        else:
            continue
        if "code" in names and statement.value is not None:
            found.extend((code, statement) for code in _literals(statement.value) or [])
    return found


def collect_codes() -> tuple[dict[str, list[str]], list[str]]:
    """Every error code in the source -> where it is set; and the codes that are not literals."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in _sources()}
    error_classes = _error_classes(list(trees.values()))
    # An error being built, or a stream's error event: event("error", code=..., ...).
    builders = error_classes | {"event"}
    codes: dict[str, list[str]] = {}
    not_literal: list[str] = []
    for path, tree in trees.items():
        where = path.relative_to(REPO)
        for node in ast.walk(tree):
            found: list[tuple[str, ast.AST]] = []
            if isinstance(node, ast.ClassDef) and node.name in error_classes:
                found = _class_default(node)
            elif isinstance(node, ast.Call) and _called_name(node) in builders:
                code = next((k.value for k in node.keywords if k.arg == "code"), None)
                if code is not None:
                    literals = _literals(code)
                    if literals is None:
                        not_literal.append(f"{where}:{node.lineno}")
                    found = [(literal, node) for literal in literals or []]
            elif isinstance(node, ast.Dict):
                # An error object outside an exception: a stream chunk's or a response's `error`.
                keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
                if "code" in keys and "message" in keys:
                    value = node.values[keys.index("code")]
                    found = [(literal, node) for literal in _literals(value) or []]
            for code, at in found:
                codes.setdefault(code, []).append(f"{where}:{at.lineno}")
    return codes, not_literal


def documented() -> dict[str, tuple[str, str]]:
    """code -> (statuses, type) from the doc's table rows."""
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    codes = [code for code, _, _ in rows]
    assert len(codes) == len(set(codes)), "a code is listed twice in docs/API_ERRORS.md"
    return {code: (statuses, kind) for code, statuses, kind in rows}


def test_it_documents_every_error_code_the_source_can_answer():
    codes, _ = collect_codes()
    missing = {code: where for code, where in codes.items() if code not in documented()}
    assert not missing, f"add these codes to docs/API_ERRORS.md: {missing}"


def test_it_lists_no_code_that_no_longer_exists():
    codes, _ = collect_codes()
    stale = sorted(set(documented()) - set(codes))
    assert not stale, f"docs/API_ERRORS.md lists codes nothing raises any more: {stale}"


def test_it_only_finds_literal_codes():
    _, not_literal = collect_codes()
    assert not not_literal, f"a code= that is not a literal cannot be documented: {not_literal}"


def test_it_gives_each_class_default_its_status_and_type():
    assert plan_import and tooling and structured  # their error classes are now subclasses
    rows = documented()

    def subclasses(cls: type[LukhasError]) -> list[type[LukhasError]]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    checked = 0
    for cls in subclasses(LukhasError):
        if "code" not in vars(cls):
            continue
        statuses, kind = rows[cls.code]
        assert str(cls.status) in statuses.split(", "), (cls.__name__, cls.status, statuses)
        assert kind == cls.openai_type, (cls.__name__, cls.openai_type, kind)
        checked += 1
    assert checked >= 14  # lukhas_site/errors.py alone defines 14 defaults

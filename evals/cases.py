"""Eval cases: the JSONL format, read and checked before anything is sent.

One case a line (blank lines and lines starting with ``#`` are skipped)::

    {"name": "echo-returns-input", "tags": ["echo"],
     "call": "responses.create", "args": {"model": "matriz-echo", "input": "ping"},
     "expect": [{"path": "output_text", "equals": "ping"}]}

or, when a case needs several calls, ``steps`` (each like the above) and an
optional ``cleanup`` run even when a step fails. ``docs/evals.md`` describes
every field; :data:`CALLS` lists what a step may call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals import expect

# The SDK methods a case may call, and the raw HTTP verbs for LUKHAS extensions
# (/v1/indexes, /v1/dreams) that the SDK has no method for.
SDK_CALLS = frozenset(
    {
        "models.list",
        "models.retrieve",
        "responses.create",
        "responses.retrieve",
        "chat.completions.create",
        "embeddings.create",
    }
)
RAW_CALLS = frozenset({"get", "post", "delete"})
CALLS = SDK_CALLS | RAW_CALLS

STEP_KEYS = frozenset(
    {"call", "args", "path", "body", "expect", "expect_error", "save", "until", "timeout_s",
     "interval_s", "note"}
)  # fmt: skip
CASE_KEYS = frozenset({"name", "tags", "needs_worker", "needs_demo", "steps", "cleanup", "note"})


class CaseError(ValueError):
    """A case file that cannot be run as written; the message names file and line."""


@dataclass(frozen=True, slots=True)
class Step:
    call: str
    args: dict[str, Any] = field(default_factory=dict)
    path: str | None = None  # raw calls: appended to the base URL (/indexes)
    body: Any = None
    expect: tuple[dict[str, Any], ...] = ()
    expect_error: bool = False
    save: dict[str, str] = field(default_factory=dict)  # variable → path in the answer
    until: tuple[dict[str, Any], ...] = ()  # poll until these hold
    timeout_s: float = 60.0
    interval_s: float = 1.0


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    source: str  # file:line
    steps: tuple[Step, ...]
    cleanup: tuple[Step, ...] = ()
    tags: tuple[str, ...] = ()
    needs_worker: bool = False
    needs_demo: bool = False  # the throwaway server loads make run's demo data first


def _expectations(raw: Any, where: str, key: str) -> tuple[dict[str, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise CaseError(f"{where}: {key!r} is a list of expectations")
    for position, item in enumerate(raw):
        problem = expect.validate(item)
        if problem:
            raise CaseError(f"{where}: {key}[{position}]: {problem}")
    return tuple(raw)


def parse_step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: a step is an object with a 'call'")
    unknown = set(raw) - STEP_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown step field(s) {sorted(unknown)}")
    call = raw.get("call")
    if call not in CALLS:
        raise CaseError(f"{where}: call must be one of {', '.join(sorted(CALLS))}, not {call!r}")
    args = raw.get("args", {})
    if not isinstance(args, dict):
        raise CaseError(f"{where}: 'args' is an object of SDK keyword arguments")
    path = raw.get("path")
    if call in RAW_CALLS:
        if not isinstance(path, str) or not path.startswith("/"):
            raise CaseError(f"{where}: a {call} step needs a 'path' starting with '/'")
    elif path is not None or "body" in raw:
        raise CaseError(f"{where}: 'path' and 'body' are for get/post/delete; use 'args'")
    save = raw.get("save", {})
    if not isinstance(save, dict) or not all(isinstance(v, str) for v in save.values()):
        raise CaseError(f"{where}: 'save' maps variable names to paths")
    for variable, saved_path in save.items():
        try:
            expect.parse_path(saved_path)
        except expect.PathError as exc:
            raise CaseError(f"{where}: save {variable}: {exc}") from exc
    for key in ("timeout_s", "interval_s"):
        value = raw.get(key, 1.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise CaseError(f"{where}: {key!r} must be a positive number of seconds")
    return Step(
        call=call,
        args=args,
        path=path,
        body=raw.get("body"),
        expect=_expectations(raw.get("expect"), where, "expect"),
        expect_error=bool(raw.get("expect_error", False)),
        save=save,
        until=_expectations(raw.get("until"), where, "until"),
        timeout_s=float(raw.get("timeout_s", 60.0)),
        interval_s=float(raw.get("interval_s", 1.0)),
    )


def parse_case(raw: Any, where: str) -> Case:
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: a case is a JSON object")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CaseError(f"{where}: 'name' is required")
    if "steps" in raw:
        unknown = set(raw) - CASE_KEYS
        if unknown:
            raise CaseError(f"{where}: unknown case field(s) {sorted(unknown)} (steps given)")
        steps_raw = raw["steps"]
        if not isinstance(steps_raw, list) or not steps_raw:
            raise CaseError(f"{where}: 'steps' is a non-empty list")
        steps = tuple(parse_step(s, f"{where} step {i + 1}") for i, s in enumerate(steps_raw))
    else:  # one step written inline
        inline = {k: v for k, v in raw.items() if k not in CASE_KEYS}
        steps = (parse_step(inline, where),)
    cleanup_raw = raw.get("cleanup", [])
    if not isinstance(cleanup_raw, list):
        raise CaseError(f"{where}: 'cleanup' is a list of steps")
    cleanup = tuple(parse_step(s, f"{where} cleanup {i + 1}") for i, s in enumerate(cleanup_raw))
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise CaseError(f"{where}: 'tags' is a list of strings")
    return Case(
        name=name,
        source=where,
        steps=steps,
        cleanup=cleanup,
        tags=tuple(tags),
        needs_worker=bool(raw.get("needs_worker", False)),
        needs_demo=bool(raw.get("needs_demo", False)),
    )


def case_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and the ``*.jsonl`` of folders named, in a stable order."""
    found: list[Path] = []
    for entry in paths:
        path = Path(entry)
        if path.is_dir():
            found += sorted(path.glob("*.jsonl"))
        elif path.is_file():
            found.append(path)
        else:
            raise CaseError(f"{path}: no such file or folder")
    return found


def _shown(path: Path) -> str:
    """A path relative to the working folder when it is inside it (shorter messages)."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_cases(paths: Iterable[str | Path]) -> list[Case]:
    """Every case of the given files/folders; names are unique across all of them."""
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in case_files(paths):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{_shown(path)}:{number}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaseError(f"{where}: not JSON ({exc.msg} at column {exc.colno})") from exc
            case = parse_case(raw, where)
            if case.name in seen:
                raise CaseError(
                    f"{where}: case {case.name!r} is already defined at {seen[case.name]}"
                )
            seen[case.name] = where
            cases.append(case)
    return cases


def select(
    cases: list[Case], *, keyword: str | None = None, tags: Iterable[str] = ()
) -> list[Case]:
    """Cases whose name contains ``keyword`` and that carry every tag given."""
    wanted = set(tags)
    return [
        case
        for case in cases
        if (keyword is None or keyword in case.name) and wanted <= set(case.tags)
    ]

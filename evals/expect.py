"""Expectations on an answer: a small path language and the checks it feeds.

A path picks values out of an answer (the SDK object dumped to JSON)::

    output_text                     a key
    output[0].content[0].type       indexes (negative ones count from the end)
    data[*].id                      every element: the result is a list
    data[?id~embed][0].id           elements whose id contains "embed"
    data[?object=model]             elements whose object equals "model"
    $                               the whole answer

An expectation names a path and one or more checks::

    {"path": "output[0].content[0].type", "equals": "output_text"}
    {"path": "data[*].id", "contains": "matriz-echo"}
    {"path": "data[0].embedding", "type": "array", "length": 64}

``check`` returns None when every check holds, else the reason it did not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

MISSING = object()  # what a path that leads nowhere yields

_TOKEN = re.compile(
    r"""
    \.?(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)     # .key or key
    | \[(?P<index>-?\d+)\]                   # [0] [-1]
    | \[(?P<star>\*)\]                       # [*]
    | \[\?(?P<fkey>[A-Za-z_][A-Za-z0-9_\-]*)(?P<fop>[=~])(?P<fval>[^\]]*)\]   # [?k=v] [?k~v]
    | \["(?P<quoted>[^"]+)"\]                # ["odd key"]
    """,
    re.VERBOSE,
)

TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


class PathError(ValueError):
    pass


def parse_path(path: str) -> list[tuple[str, Any]]:
    """``data[*].id`` → [("key", "data"), ("star", None), ("key", "id")]."""
    text = path.strip()
    if text in {"", "$"}:
        return []
    if text.startswith("$"):
        text = text[1:]
    steps: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise PathError(f"cannot read path {path!r} at {text[position:]!r}")
        if match.group("key") is not None:
            steps.append(("key", match.group("key")))
        elif match.group("quoted") is not None:
            steps.append(("key", match.group("quoted")))
        elif match.group("index") is not None:
            steps.append(("index", int(match.group("index"))))
        elif match.group("star"):
            steps.append(("star", None))
        else:
            steps.append(("filter", (match.group("fkey"), match.group("fop"), match.group("fval"))))
        position = match.end()
    return steps


def _matches_filter(item: Any, key: str, op: str, wanted: str) -> bool:
    if not isinstance(item, dict) or key not in item:
        return False
    value = item[key]
    text = value if isinstance(value, str) else json.dumps(value)
    return wanted in text if op == "~" else text == wanted


def resolve(value: Any, path: str) -> Any:
    """The value at ``path``; :data:`MISSING` when it leads nowhere.

    After a ``[*]`` or a filter the result is a list of what each element
    leads to (elements that lead nowhere are left out).
    """
    current: list[Any] = [value]
    fanned = False
    for kind, arg in parse_path(path):
        following: list[Any] = []
        for item in current:
            if kind == "key":
                if isinstance(item, dict) and arg in item:
                    following.append(item[arg])
            elif kind == "index":
                if isinstance(item, list) and -len(item) <= arg < len(item):
                    following.append(item[arg])
            elif kind == "star":
                if isinstance(item, list):
                    following.extend(item)
                    fanned = True
            elif isinstance(item, list):  # filter: keeps a list, which [n] then indexes
                following.append([e for e in item if _matches_filter(e, *arg)])
        current = following
        if not current and not fanned:
            return MISSING
    if fanned:
        return current
    return current[0] if current else MISSING


def _show(value: Any, limit: int = 160) -> str:
    if value is MISSING:
        return "(missing)"
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, list):
        return needle in haystack
    if isinstance(haystack, dict):
        return needle in haystack
    return False


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | dict) else None


def validate(expectation: Any) -> str | None:
    """What is wrong with an expectation as written (None: nothing)."""
    if not isinstance(expectation, dict):
        return 'an expectation is an object like {"path": ..., "equals": ...}'
    unknown = set(expectation) - EXPECTATION_KEYS
    if unknown:
        return f"unknown check(s) {sorted(unknown)}; known: {', '.join(CHECKS)}"
    if not any(key in expectation for key in CHECKS):
        return f"no check given; use one of {', '.join(CHECKS)}"
    try:
        parse_path(str(expectation.get("path", "$")))
    except PathError as exc:
        return str(exc)
    wanted_type = expectation.get("type")
    if wanted_type is not None and wanted_type not in TYPES:
        return f"type must be one of {', '.join(TYPES)}"
    if "matches" in expectation:
        try:
            re.compile(expectation["matches"])
        except re.error as exc:
            return f"matches: bad regular expression ({exc})"
    return None


def check(expectation: dict[str, Any], answer: Any) -> str | None:
    """None when the answer meets every check of the expectation, else why not."""
    path = str(expectation.get("path", "$"))
    value = resolve(answer, path)
    got = _show(value)
    for name in CHECKS:
        if name not in expectation:
            continue
        wanted = expectation[name]
        failure = _one(name, wanted, value)
        if failure is not None:
            return f"{path or '$'}: {failure}, got {got}"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _length_is(value: Any, test: Callable[[int], bool]) -> bool:
    length = _length(value)
    return length is not None and test(length)


# check name → does the value (first) meet what the case wants (second)?
_PREDICATES: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda value, wanted: value == wanted,
    "not_equals": lambda value, wanted: value != wanted,
    "contains": _contains,
    "not_contains": lambda value, wanted: not _contains(value, wanted),
    "icontains": lambda value, wanted: (
        isinstance(value, str) and str(wanted).lower() in value.lower()
    ),
    "contains_all": lambda value, wanted: all(_contains(value, item) for item in wanted),
    "starts_with": lambda value, wanted: isinstance(value, str) and value.startswith(str(wanted)),
    "matches": lambda value, wanted: (
        isinstance(value, str) and re.search(wanted, value) is not None
    ),
    "in": lambda value, wanted: value in wanted,
    "type": lambda value, wanted: TYPES[wanted](value),
    "length": lambda value, wanted: _length_is(value, lambda n: n == wanted),
    "min_length": lambda value, wanted: _length_is(value, lambda n: n >= wanted),
    "max_length": lambda value, wanted: _length_is(value, lambda n: n <= wanted),
    "gt": lambda value, wanted: _number(value) and value > wanted,
    "gte": lambda value, wanted: _number(value) and value >= wanted,
    "lt": lambda value, wanted: _number(value) and value < wanted,
    "lte": lambda value, wanted: _number(value) and value <= wanted,
}


def _one(name: str, wanted: Any, value: Any) -> str | None:
    if name == "exists":
        if (value is not MISSING) == bool(wanted):
            return None
        return "expected to exist" if wanted else "expected to be absent"
    if value is MISSING:
        return "path not found"
    if _PREDICATES[name](value, wanted):
        return None
    return f"expected {name.replace('_', ' ')} {_show(wanted)}"


CHECKS = ("exists", *_PREDICATES)
EXPECTATION_KEYS = frozenset({"path", "note", *CHECKS})

"""Building one task and storing it: keys as plans write them, derived keys, and merging
a task the plan defines twice."""

from __future__ import annotations

import re
from typing import Any

from coordination.plan_parser.model import ParsedTask, PlanParseError
from coordination.plan_parser.state import ParseState, add_note, extend
from coordination.plan_parser.text import (
    differs,
    plain_text,
    slugify,
)

_SCALARS = ("owner", "reviewer", "priority", "risk", "branch", "goal", "status")


def new_task(
    state: ParseState, key: str, title: str, line: int, scope: dict[str, Any]
) -> ParsedTask:
    task = ParsedTask(key=key, title=title, track=scope.get("track", ""), source_line=line)
    task.owner = scope.get("owner", "")
    task.collaborators = list(scope.get("collaborators", []))
    task.goal = scope.get("goal", "")
    task.status = ""  # "" until stated; settled to todo at the end
    if task.owner and scope.get("owner_from"):
        state.owner_sources[key] = (task.owner, scope["owner_from"])
    if scope.get("agents_line"):
        task.notes = scope["agents_line"]
    state.chains.setdefault(key, list(scope.get("chain", [])))
    return task


def derived_key(state: ParseState, prefix: str, title: str, line: int) -> str:
    """Key for a task the plan does not name: '<section>.<item-slug>', made unique."""
    slug = slugify(title) or f"line-{line}"
    key = f"{prefix}.{slug}" if prefix else slug
    if key in state.derived_keys or key in state.tasks:
        number = 2
        while f"{key}-{number}" in state.derived_keys or f"{key}-{number}" in state.tasks:
            number += 1
        state.warnings.append(
            f"line {line}: another task is already called {key!r}; using {key}-{number}"
        )
        key = f"{key}-{number}"
    state.derived_keys.add(key)
    return key


def normalize_key(raw: str, line: int) -> str:
    """Keys as plans write them: a bare number gets '#' ('1' -> '#1'), others stay."""
    key = re.sub(r"^task\s+", "", plain_text(raw), flags=re.IGNORECASE).strip()
    if re.fullmatch(r"#?\s*\d+", key):
        return "#" + key.lstrip("#").strip()
    if re.fullmatch(r"#?[A-Za-z0-9][A-Za-z0-9._-]*", key):
        return key
    raise PlanParseError(
        line, f"{key!r} is not a task key (letters, digits, '-' or '.', e.g. A, #3, CC-1)"
    )


def add_task(state: ParseState, task: ParsedTask) -> None:
    """Store a task; a key seen before merges into the first, or fails on a conflict."""
    old = state.tasks.get(task.key)
    if old is None:
        state.tasks[task.key] = task
        return
    for name in _SCALARS:
        mine, theirs = getattr(old, name), getattr(task, name)
        if not mine:
            setattr(old, name, theirs)
        elif theirs and differs(name, mine, theirs):
            raise PlanParseError(
                task.source_line,
                f"task {task.key} is defined again with {name} {theirs!r} "
                f"but line {old.source_line} says {mine!r}",
            )
    new_estimate = (task.estimate_min_hours, task.estimate_max_hours)
    old_estimate = (old.estimate_min_hours, old.estimate_max_hours)
    if old_estimate == (None, None):
        old.estimate_min_hours, old.estimate_max_hours = new_estimate
    elif new_estimate != (None, None) and new_estimate != old_estimate:
        raise PlanParseError(
            task.source_line,
            f"task {task.key} is defined again with estimate {new_estimate} "
            f"but line {old.source_line} says {old_estimate}",
        )
    extend(old.collaborators, [c for c in task.collaborators if c != old.owner])
    extend(old.files, task.files)
    for item in task.acceptance:
        if item not in old.acceptance:
            old.acceptance.append(item)
    old.requires_critical_review = old.requires_critical_review or task.requires_critical_review
    old.title = old.title or task.title
    old.track = old.track or task.track
    if task.notes and task.notes not in old.notes:
        add_note(old, task.notes)

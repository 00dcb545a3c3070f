"""The one explicit state of a parse: what grows while a plan is read, passed to every step.

Each step of the parser is a function ``step(state, ...)``; none keeps state of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coordination.plan_parser.model import ParsedTask
from coordination.plan_parser.text import plain_text


@dataclass
class ParseState:
    """One parse of one plan."""

    original: str
    checksum: str
    source_name: str = ""
    tasks: dict[str, ParsedTask] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    coordinator: str = ""
    derived_keys: set[str] = field(default_factory=set)
    # Per task key: dependency mentions (ref, line, said "Task"), the states of its
    # acceptance checkboxes, and the headings above it (nearest first).
    dep_refs: dict[str, list[tuple[str, int, bool]]] = field(default_factory=dict)
    checkbox_states: dict[str, list[bool]] = field(default_factory=dict)
    chains: dict[str, list[str]] = field(default_factory=dict)
    # Paragraph lines and list items outside task sections: critical-review signals.
    prose: list[tuple[str, int, list[str]]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    # Filled once every task is read, for the passes that look tasks up by name.
    agent_names: list[str] = field(default_factory=list)
    keys_by_lowercase: dict[str, str] = field(default_factory=dict)


def checked(state: ParseState, value: str | None, what: str, raw: str, line: int) -> str:
    if value is None:
        state.warnings.append(f"line {line}: cannot read {what} {plain_text(raw)!r}; left empty")
        return ""
    return value


def add_note(task: ParsedTask, note: str) -> None:
    if note.strip():
        task.notes = f"{task.notes}\n{note}" if task.notes else note


def extend(target: list[str], values: list[str]) -> None:
    for value in values:
        if value and value not in target:
            target.append(value)

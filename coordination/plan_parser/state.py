"""The one explicit state of a parse: what grows while a plan is read, passed to every step.

Each step of the parser is a function ``step(state, ...)``; none keeps state of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coordination.plan_parser.model import ParsedTask, PlanGate
from coordination.plan_parser.text import plain_text


@dataclass
class ParseState:
    """One parse of one plan."""

    original: str
    checksum: str
    source_name: str = ""
    tasks: dict[str, ParsedTask] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    inferences: list[str] = field(default_factory=list)
    gates: list[PlanGate] = field(default_factory=list)
    # "1. **H26** Title" items: tasks only if no other place defines the key.
    candidates: list[tuple[ParsedTask, str, int]] = field(default_factory=list)
    coordinator: str = ""
    # Per task key: the owner a heading or group label handed down, and from where.
    owner_sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Per task key: references of "BLOCKS: X" lines (X depends on the task).
    blocks_refs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
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


def infer(state: ParseState, line: int, message: str) -> None:
    """Record something the parser concluded rather than read in a labelled place."""
    state.inferences.append(f"line {line}: {message}")

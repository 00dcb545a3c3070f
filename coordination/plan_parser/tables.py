"""Task tables: which columns say what, one task per row, and the tables markdown missed."""

from __future__ import annotations

import re
from typing import Any

from coordination.plan_parser.blocks import Block
from coordination.plan_parser.fields import apply_field
from coordination.plan_parser.model import ParsedTask, PlanParseError
from coordination.plan_parser.resolve import resolve_reviewer, scan_dependencies
from coordination.plan_parser.state import ParseState, add_note
from coordination.plan_parser.tasks import add_task, derived_key, new_task, normalize_key
from coordination.plan_parser.text import (
    STRIKE,
    Field,
    clean_title,
    people,
    plain_text,
    split_row,
)

_COLUMN_KINDS = {
    **dict.fromkeys(("#", "id", "key", "no", "nr", "ref", "task id", "task #"), "key"),
    **dict.fromkeys(("title", "name", "summary", "item", "deliverable"), "title"),
    **dict.fromkeys(
        ("owner", "owners", "assignee", "agent", "agents", "who", "lead", "assigned to"), "owner"
    ),
    **dict.fromkeys(("collaborators", "support"), "collaborators"),
    **dict.fromkeys(("time", "estimate", "est", "effort", "eta", "duration", "hours"), "time"),
    **dict.fromkeys(("priority", "prio"), "priority"),
    **dict.fromkeys(("files", "file", "paths"), "files"),
    **dict.fromkeys(("status", "state"), "status"),
    **dict.fromkeys(("depends on", "dependencies", "deps", "blocked by", "after"), "depends"),
    **dict.fromkeys(("goal", "outcome"), "goal"),
    **dict.fromkeys(("notes", "comments", "comment"), "notes"),
    **dict.fromkeys(("accept", "acceptance", "dod"), "accept"),
    **dict.fromkeys(("role", "review"), "role"),
    "task": "task",
    "risk": "risk",
    "branch": "branch",
    "reviewer": "reviewer",
    "track": "track",
}


def column_kind(header: str) -> str:
    name = " ".join(re.sub(r"[^a-z0-9# ]", " ", plain_text(header).lower()).split())
    if name in _COLUMN_KINDS:
        return _COLUMN_KINDS[name]
    if name.endswith(" role") or name.endswith(" review"):
        return "role"
    return "other"


def is_task_table(kinds: list[str]) -> bool:
    has_title = "title" in kinds or "task" in kinds
    facts = {"owner", "key", "time", "priority", "risk", "status"}
    return has_title and bool(facts & set(kinds))


def reject_broken_tables(state: ParseState, blocks: list[Block]) -> None:
    """A task table markdown did not recognise would lose its tasks without a word."""
    for block in blocks:
        if block.kind != "paragraph":
            continue
        rows = block.text.split("\n")
        if len(rows) < 2 or not rows[0].lstrip().startswith("|"):
            continue
        header = split_row(rows[0])
        if not is_task_table([column_kind(cell) for cell in header]):
            continue
        if re.fullmatch(r"\s*\|?[\s:|-]*-[\s:|-]*", rows[1]):
            separator = split_row(rows[1])
            raise PlanParseError(
                block.line + 1,
                f"table separator row has {len(separator)} cells but the header has {len(header)}",
            )
        raise PlanParseError(
            block.line, "table header is not followed by a separator row like |---|---|"
        )


def read_table(state: ParseState, block: Block, scope: dict[str, Any]) -> None:
    header = split_row(state.lines[block.line - 1])
    kinds = [column_kind(cell) for cell in header]
    if not is_task_table(kinds):
        return
    if "task" in kinds:  # "| Task | Title |": Task is the key; alone it is the title
        kinds[kinds.index("task")] = "key" if "title" in kinds else "title"
    for number in range(block.line + 2, block.end + 1):
        raw = state.lines[number - 1]
        if not raw.strip():
            continue
        if "|" not in raw:
            state.warnings.append(
                f"line {number}: text right under a table without a blank line; ignored"
            )
            continue
        cells = split_row(raw)
        if len(cells) > len(header) and not any(cells[len(header) :]):
            cells = cells[: len(header)]
        if len(cells) != len(header):
            hint = " (escape a '|' inside a cell as '\\|')" if len(cells) > len(header) else ""
            raise PlanParseError(
                number,
                f"table row has {len(cells)} cells but the header has {len(header)}{hint}",
            )
        read_table_row(state, header, kinds, cells, number, scope)


def read_table_row(
    state: ParseState, header: list[str], kinds: list[str], cells: list[str], line: int, scope: dict
) -> None:
    if not any(plain_text(c) for c in cells):
        return
    row = dict(zip(kinds, cells, strict=True))
    title = clean_title(row.get("title", ""))
    if row.get("key") and plain_text(row["key"]):
        key = normalize_key(row["key"], line)
    elif title:
        key = derived_key(state, scope.get("key_prefix", ""), title, line)
    else:
        state.warnings.append(f"line {line}: table row has neither a key nor a title; skipped")
        return
    if not title:
        state.warnings.append(f"line {line}: task {key} has no title")
        title = key
    task = new_task(state, key, title, line, scope)
    if STRIKE.fullmatch(row.get("title", "").strip()):
        task.status = "cancelled"
    for kind, head, cell in zip(kinds, header, cells, strict=True):
        if not plain_text(cell) or plain_text(cell) in {"-", "\u2014", "\u2013"}:
            continue
        apply_cell(state, task, kind, plain_text(head), cell, line)
    add_task(state, task)


def apply_cell(
    state: ParseState, task: ParsedTask, kind: str, head: str, cell: str, line: int
) -> None:
    if kind == "owner":
        task.owner, task.collaborators = people(cell)
    elif kind == "role":
        who = re.sub(r"\s*\b(role|review)$", "", head, flags=re.IGNORECASE).strip()
        text = plain_text(cell).lower()
        if "review" in text or "critical" in text:
            task.reviewer = resolve_reviewer(state, who or state.coordinator)
        if "critical" in text:
            task.requires_critical_review = True
        add_note(task, f"{head}: {plain_text(cell)}")
    elif kind in ("key", "title", "task"):
        scan_dependencies(state, task.key, cell, line)
    else:  # the other column kinds are named like the field kinds
        apply_field(state, task, Field(kind, head, cell), line)

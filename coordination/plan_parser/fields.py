"""What a task's own lines say: labelled fields, acceptance items, files, people, notes."""

from __future__ import annotations

import re
import unicodedata

from coordination.plan_parser.blocks import Block
from coordination.plan_parser.model import AcceptanceItem, ParsedTask, PlanParseError
from coordination.plan_parser.resolve import add_refs, resolve_reviewer, scan_dependencies
from coordination.plan_parser.state import ParseState, add_note, checked, extend, infer
from coordination.plan_parser.text import (
    CHECKBOX,
    CODE_SPAN,
    KNOWN_AGENTS,
    Field,
    clean_title,
    file_names,
    normalize_agent_name,
    parse_estimate,
    people,
    plain_text,
    priority_of,
    prose_estimate,
    read_field,
    refs_in,
    risk_of,
    status_of,
)


def read_body(
    state: ParseState,
    task: ParsedTask,
    blocks: list[Block],
    *,
    checkbox_done: bool = False,
    skip: tuple[str, ...] = (),
) -> None:
    pending: Field | None = None
    for block in blocks:
        if block.kind == "paragraph":
            lines = block.text.split("\n")
            pending = None
            for offset, line in enumerate(lines):
                found = read_field(line)
                number = block.line + offset
                if found and found.kind in skip:
                    pending = None
                elif found:
                    apply_field(state, task, found, number, checkbox_done=checkbox_done)
                    last = offset == len(lines) - 1
                    pending = found if last and not found.value else None
                else:
                    add_note(task, plain_text(line, keep_code=True))
                    read_prose(state, task, line, number)
        elif block.kind == "list":
            for item in block.children:
                read_body_item(state, task, item, pending, checkbox_done=checkbox_done)
            pending = None
        else:
            pending = None


def read_body_item(
    state: ParseState, task: ParsedTask, item: Block, label: Field | None, *, checkbox_done: bool
) -> None:
    text = item.item_text
    checkbox = CHECKBOX.match(text)
    body = text[checkbox.end() :] if checkbox else text
    scan_dependencies(state, task.key, body, item.line)
    found = read_field(body) if label is None else None
    kind = label.kind if label is not None else None
    if found:
        apply_field(state, task, found, item.line, checkbox_done=checkbox_done)
    elif kind == "accept" or (checkbox and kind in (None, "other")):
        done = bool(checkbox and checkbox.group(1) in "xX")
        add_acceptance(state, task, body, done, from_checkbox=bool(checkbox))
    elif kind == "files":
        extend(task.files, file_names(body))
    elif kind in ("owner", "collaborators"):
        owner, others = people(body)
        if kind == "owner" and not task.owner:
            task.owner = owner
        else:
            others = [owner, *others]
        extend(task.collaborators, [n for n in others if n != task.owner])
    elif kind == "depends":
        add_refs(state, task.key, body, item.line, explicit=True)
    else:
        add_note(task, f"- {plain_text(body, keep_code=True)}")
    for child in item.children[1:]:
        if child.kind == "list":
            for sub in child.children:
                read_body_item(state, task, sub, label, checkbox_done=checkbox_done)


def apply_field(
    state: ParseState, task: ParsedTask, found: Field, line: int, *, checkbox_done: bool = False
) -> None:
    value = found.value
    if found.kind == "owner" and re.search(r"\.\s+\S", plain_text(value)):
        # "Owner: Codex. Estimate 3h.": the name ends the sentence; the rest is prose
        value, rest = re.split(r"\.\s+(?=\S)", plain_text(value), maxsplit=1)
        read_prose(state, task, rest, line)
    plain = plain_text(value, keep_code=True)
    if found.kind == "owner" and value:
        task.owner, task.collaborators = people(value)
    elif found.kind == "blocks" and value:
        for ref in refs_in(CODE_SPAN.sub(r"\2", plain_text(value))):
            state.blocks_refs.setdefault(task.key, []).append((ref, line))
    elif found.kind == "collaborators" and value:
        first, others = people(value)
        extend(task.collaborators, [n for n in (first, *others) if n != task.owner])
    elif found.kind == "reviewer" and value:
        task.reviewer = resolve_reviewer(state, people(value)[0])
    elif found.kind == "goal" and value:
        task.goal = plain
    elif found.kind == "risk" and value:
        task.risk = checked(state, risk_of(value), "risk", value, line)
    elif found.kind == "priority" and value:
        task.priority = checked(state, priority_of(value), "priority", value, line)
        if len(plain_text(value).split()) > 1:
            add_note(task, f"{found.label}: {plain_text(value)}")
    elif found.kind == "time" and value:
        task.estimate_min_hours, task.estimate_max_hours = estimate(value, line)
    elif found.kind == "branch" and value:
        apply_branch(task, found, value)
    elif found.kind == "status" and value:
        task.status = checked(state, status_of(value), "status", value, line)
    elif found.kind == "files":
        extend(task.files, file_names(value))
    elif found.kind == "depends" and value:
        add_refs(state, task.key, value, line, explicit=True)
    elif found.kind == "accept":
        if value:
            add_acceptance(state, task, value, checkbox_done, from_checkbox=False)
    elif found.kind == "track" and value:
        task.track = clean_title(value)
    elif found.kind == "notes" and value:
        add_note(task, plain)
    elif found.kind == "other":
        add_note(task, f"{found.label}: {plain}" if plain else f"{found.label}:")
    if found.kind not in ("depends",):
        scan_dependencies(state, task.key, value, line)


def apply_branch(task: ParsedTask, found: Field, value: str) -> None:
    code = CODE_SPAN.search(value)
    plain = plain_text(value)
    if code:
        task.branch = code.group(2).strip()
    elif " " not in plain:
        task.branch = plain
    else:  # "Review PR from Codex": says where the work is, but names no branch
        add_note(task, f"{found.label}: {plain}")


def add_acceptance(
    state: ParseState, task: ParsedTask, text: str, done: bool, *, from_checkbox: bool
) -> None:
    # "✅ All 4 guardrails pass": the tick decorates the criterion, it does not tick it
    clean = plain_text(text, keep_code=True)
    while clean and (unicodedata.category(clean[0]) == "So" or clean[0] in "\ufe0f -*\u2022"):
        clean = clean[1:]
    if not clean:
        return
    if any(existing.text == clean for existing in task.acceptance):
        return
    task.acceptance.append(AcceptanceItem(clean, done))
    if from_checkbox:
        state.checkbox_states.setdefault(task.key, []).append(done)


def estimate(value: str, line: int) -> tuple[float | None, float | None]:
    try:
        return parse_estimate(value)
    except ValueError as exc:
        raise PlanParseError(line, str(exc)) from None


_SUPPORT = re.compile(r"^\s*(?P<name>.+?)\s+(?:support|supports|assists|helps)\b", re.IGNORECASE)


def read_prose(state: ParseState, task: ParsedTask, line: str, number: int) -> None:
    """A task's unlabelled line: dependencies, "Claude Code support", an estimate in words."""
    scan_dependencies(state, task.key, line, number)
    plain = plain_text(line)
    support = _SUPPORT.match(plain)
    if support and normalize_agent_name(support.group("name")) in _KNOWN_KEYS:
        name = support.group("name")
        mine = {normalize_agent_name(n) for n in (task.owner, *task.collaborators)}
        if normalize_agent_name(name) not in mine:
            task.collaborators.append(name)
            infer(state, number, f"task {task.key} collaborator {name}: {plain!r}")
    found = prose_estimate(plain)
    if found and task.estimate_min_hours is None and task.estimate_max_hours is None:
        low, high, days = found
        task.estimate_min_hours, task.estimate_max_hours = low, high
        how = "days read as 8 h working days" if days else "read from the text"
        infer(state, number, f"task {task.key} estimate {low:g}-{high:g} h: {how} ({plain!r})")


_KNOWN_KEYS = {normalize_agent_name(name) for name in KNOWN_AGENTS}

"""Headings and lists: sections hand owners and tracks down; task headings and checkbox
items become tasks."""

from __future__ import annotations

import re
from typing import Any

from coordination.plan_parser.blocks import Block, Section
from coordination.plan_parser.fields import read_body
from coordination.plan_parser.resolve import scan_dependencies
from coordination.plan_parser.state import ParseState, add_note
from coordination.plan_parser.tables import read_table
from coordination.plan_parser.tasks import add_task, derived_key, new_task, normalize_key
from coordination.plan_parser.text import (
    CHECKBOX,
    CHECKBOX_STATUS,
    KEY_LIKE,
    STRIKE,
    Field,
    clean_title,
    people,
    plain_text,
    read_field,
    strip_symbols,
)

_TASK_HEADING = re.compile(
    r"^Task\s+(?P<key>#?[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?::|\s[-\u2013\u2014]\s)\s*(?P<title>.*)$",
    re.IGNORECASE,
)
_BOLD_TITLE = re.compile(r"^(\*\*|__)(?P<title>.+?)\1\s*[:\u2014\u2013-]?\s*(?P<tail>.*)$", re.S)
_ITEM_KEY = re.compile(
    r"^(?:Task\s+(?P<k1>#?[A-Za-z0-9][\w.-]*)|(?P<k2>#\d+|[A-Za-z]+-\d[\w.-]*))"
    r"\s*(?::|\s[-\u2013\u2014])\s*(?P<title>.+)$",
    re.IGNORECASE,
)


def read_section(state: ParseState, section: Section, inherited: dict[str, Any]) -> None:
    if section.level >= 1 and _TASK_HEADING.match(strip_symbols(plain_text(section.heading))):
        read_task_section(state, section, inherited)
        return
    own = section_fields(state, section)
    scope = {**inherited, **own}
    if section.level >= 2:
        scope["track"] = section.track_name
        scope["key_prefix"] = section.key_prefix
        scope["chain"] = [section.title, *inherited.get("chain", [])]
    before = len(state.tasks)
    read_section_blocks(state, section, scope)
    for child in section.children:
        read_section(state, child, scope)
    if len(state.tasks) == before and own.get("owner") and section.level >= 1:
        read_section_as_task(state, section, scope)


def section_fields(state: ParseState, section: Section) -> dict[str, Any]:
    """Owner/Agents and Goal lines directly under a heading apply to its tasks."""
    fields: dict[str, Any] = {}
    for block in section.blocks:
        if block.kind != "paragraph":
            continue
        for line in block.text.split("\n"):
            found = read_field(line)
            if found and found.kind == "owner" and "owner" not in fields:
                fields["owner"], fields["collaborators"] = people(found.value)
                fields["agents_line"] = f"{found.label}: {plain_text(found.value)}"
            elif found and found.kind == "goal" and found.value:
                fields["goal"] = plain_text(found.value, keep_code=True)
    return fields


def read_section_blocks(state: ParseState, section: Section, scope: dict[str, Any]) -> None:
    pending: Field | None = None
    chain = scope.get("chain", [])
    for block in section.blocks:
        if block.kind == "table":
            read_table(state, block, scope)
        elif block.kind == "list":
            labelled = pending is not None and pending.kind in ("accept", "files")
            read_checkbox_list(state, block, scope, as_tasks=not labelled)
        if block.kind == "paragraph":
            for offset, line in enumerate(block.text.split("\n")):
                state.prose.append((line, block.line + offset, chain))
            last = block.text.split("\n")[-1]
            pending = read_field(last)
        else:
            pending = None


def read_checkbox_list(
    state: ParseState, block: Block, scope: dict[str, Any], *, as_tasks: bool
) -> None:
    for item in block.children:
        text = item.item_text
        state.prose.append((text, item.line, scope.get("chain", [])))
        if as_tasks and CHECKBOX.match(text):
            read_checkbox_task(state, item, scope)
            continue
        for child in item.children:
            if child.kind == "list":
                read_checkbox_list(state, child, scope, as_tasks=as_tasks)


def read_task_section(state: ParseState, section: Section, inherited: dict[str, Any]) -> None:
    match = _TASK_HEADING.match(strip_symbols(plain_text(section.heading)))
    assert match is not None
    key = normalize_key(match.group("key"), section.line)
    task = new_task(state, key, clean_title(match.group("title")), section.line, inherited)
    scan_dependencies(state, task.key, section.heading, section.line)
    if STRIKE.fullmatch(section.heading.strip()):
        task.status = "cancelled"
    blocks = section_blocks_with_labels(state, section)
    read_body(state, task, blocks)
    add_task(state, task)
    for block in blocks:  # a task table inside a task section still lists tasks
        if block.kind == "table":
            read_table(state, block, inherited)


def section_blocks_with_labels(state: ParseState, section: Section) -> list[Block]:
    """A task's blocks, with each deeper heading turned into a '**Heading**:' label."""
    blocks = list(section.blocks)
    for child in section.children:
        label = Block("paragraph", child.line, child.line, text=f"**{child.title}**:")
        blocks.append(label)
        blocks.extend(section_blocks_with_labels(state, child))
    return blocks


def read_section_as_task(state: ParseState, section: Section, scope: dict[str, Any]) -> None:
    """A section that names its agents but lists no tasks is one task, not nothing."""
    key = derived_key(state, section.enumerator, section.track_name, section.line)
    task = new_task(state, key, section.track_name, section.line, scope)
    # Its Owner/Agents and Goal lines are already in the scope it was created from.
    read_body(state, task, section.blocks, skip=("owner", "goal"))
    add_task(state, task)


def read_checkbox_task(state: ParseState, item: Block, scope: dict[str, Any]) -> None:
    text = item.item_text
    checkbox = CHECKBOX.match(text)
    assert checkbox is not None
    rest = text[checkbox.end() :].strip()
    mentions = re.findall(r"(?<![\w`])@([A-Za-z][\w-]*)", rest)
    rest = re.sub(r"(?<![\w`])@[A-Za-z][\w-]*", " ", rest).strip()
    bold = _BOLD_TITLE.match(rest)
    title_md, tail = (bold.group("title"), bold.group("tail")) if bold else (rest, "")
    if KEY_LIKE.fullmatch(plain_text(title_md)) and tail.strip():  # "**CC-7**: Wire it"
        title_md, tail = f"{plain_text(title_md)}: {tail}", ""
    keyed = _ITEM_KEY.match(plain_text(title_md))
    if keyed:
        key = normalize_key(keyed.group("k1") or keyed.group("k2"), item.line)
        title = clean_title(keyed.group("title"))
    else:
        title = clean_title(title_md)
        key = derived_key(state, scope.get("key_prefix", ""), title, item.line)
    task = new_task(state, key, title, item.line, scope)
    task.status = CHECKBOX_STATUS[checkbox.group(1)]
    if STRIKE.fullmatch(title_md.strip()):
        task.status = "cancelled"
    if mentions:  # "- [ ] Write docs @copilot @codex": the first one owns it
        task.owner, task.collaborators = mentions[0], list(dict.fromkeys(mentions[1:]))
    if tail.strip():
        add_note(task, plain_text(tail, keep_code=True))
    scan_dependencies(state, task.key, text, item.line)
    read_body(state, task, item.children[1:], checkbox_done=task.status == "done")
    add_task(state, task)

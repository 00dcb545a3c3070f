"""Headings and lists: sections hand owners and tracks down; task headings and checkbox
items become tasks."""

from __future__ import annotations

import re
from typing import Any

from coordination.plan_parser.blocks import Block, Section
from coordination.plan_parser.fields import read_body
from coordination.plan_parser.model import GateItem, ParsedTask, PlanGate
from coordination.plan_parser.resolve import scan_dependencies
from coordination.plan_parser.state import ParseState, add_note, infer
from coordination.plan_parser.tables import read_table
from coordination.plan_parser.tasks import add_task, derived_key, new_task, normalize_key
from coordination.plan_parser.text import (
    CHECKBOX,
    CHECKBOX_STATUS,
    KEY_LIKE,
    KNOWN_AGENTS,
    PRIORITY_BADGE,
    STRIKE,
    WRITTEN_ID,
    Field,
    clean_title,
    normalize_agent_name,
    people,
    plain_text,
    priority_of,
    prose_estimate,
    read_field,
    strip_symbols,
)

_TASK_HEADING = re.compile(
    r"^Task\s+(?P<key>#?[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?::|\s[-\u2013\u2014]\s)\s*(?P<title>.*)$",
    re.IGNORECASE,
)
_BOLD_TITLE = re.compile(r"^(\*\*|__)(?P<title>.+?)\1\s*[:\u2014\u2013-]?\s*(?P<tail>.*)$", re.S)
_ITEM_KEY = re.compile(
    rf"^(?:(?i:Task)\s+(?P<k1>#?[A-Za-z0-9][\w.-]*)|(?P<k2>{WRITTEN_ID}|[A-Za-z]+-\d[\w.-]*))"
    r"\s*(?::|\)|\s[-\u2013\u2014])\s*(?P<title>.+)$"
)
# "### E1) Title", "### CC-4 - Title", "**D1) Title**": an id the author put first.
_ID_TITLE = re.compile(
    rf"^(?P<key>{WRITTEN_ID})\s*(?::|\)|\.|\s[-\u2013\u2014])\s*(?P<title>\S.*)$"
)
# "#### 2. Title" (only at level 4 and deeper: "## 1) Registry" is a track).
_NUMBER_TITLE = re.compile(r"^(?P<key>\d+)[.)]\s+(?P<title>\S.*)$")
# "## Track D — Registry service (Codex)"
_TRACK_HEADING = re.compile(
    r"^Track\s+(?P<key>[A-Z0-9]{1,3})\s*(?::|\s[-\u2013\u2014])\s*(?P<title>.+?)"
    r"\s*(?:\((?P<owner>[^)]*)\))?$"
)
# Sections whose checklists are conditions on the plan, not work items.
_GATE_HEADING = re.compile(
    r"\b(?:gates?|success criteria|exit criteria|acceptance criteria|release criteria|"
    r"go/no-go|definition of done)\b",
    re.IGNORECASE,
)
# Sections that show what to copy, never work to do.
_EXAMPLE_HEADING = re.compile(
    r"\b(?:templates?|examples?|pr[- ]body|paste[- ]?packs?|pasteable|copy this)\b", re.IGNORECASE
)
_DONE_WORD = re.compile(r"\b(?:COMPLETED|COMPLETE|DONE)\b")
_DONE_MARK = re.compile(r"\s*(?:✅\s*)?\b(?:COMPLETED|DONE|COMPLETE)\b\s*|\s*✅\s*")


def heading_task(section: Section) -> tuple[str, str] | None:
    """The (id as written, title) a heading names, or None for a plain section heading."""
    heading = strip_symbols(plain_text(section.heading))
    for pattern, level in ((_TASK_HEADING, 1), (_ID_TITLE, 2), (_NUMBER_TITLE, 4)):
        match = pattern.match(heading)
        if match and section.level >= level:
            return match.group("key"), match.group("title")
    return None


def title_facts(state: ParseState, task: ParsedTask, raw: str, line: int) -> str:
    """What a title says besides its name: a done mark, a priority badge, an estimate."""
    title = raw
    # "✅ COMPLETED" / "DONE" in capitals marks a heading or label task done; a lone ✅
    # is decoration in these plans (docs/plan-format.md), and a checkbox already spoke.
    done_word = _DONE_WORD.search(title)
    if task.status == "" and done_word:
        task.status = "done"
        infer(state, line, f"task {task.key} is done: its title says {done_word.group(0)!r}")
        title = _DONE_MARK.sub(" ", title)
    badge = PRIORITY_BADGE.search(title)
    if badge and task.priority in (None, ""):
        task.priority = priority_of(badge.group("word") or badge.group("bare")) or None
        title = title[: badge.start()] + " " + title[badge.end() :]
        infer(
            state,
            line,
            f"task {task.key} priority {task.priority}: badge {badge.group(0).strip()!r}",
        )
    found = prose_estimate(title)
    if found and task.estimate_min_hours is None and task.estimate_max_hours is None:
        low, high, days = found
        task.estimate_min_hours, task.estimate_max_hours = low, high
        match = re.search(r"\(?\s*(?:~|≈)?\s*" + _ESTIMATE_TEXT, title, re.IGNORECASE)
        if match:
            title = title[: match.start()] + " " + title[match.end() :]
        if days:
            infer(state, line, f"task {task.key} estimate {low:g}-{high:g} h: days read as 8 h")
    return clean_title(title)


_ESTIMATE_TEXT = (
    r"\d+(?:\.\d+)?(?:\s*(?:-|\u2013|to)\s*\d+(?:\.\d+)?)?\s*"
    r"(?:h|hrs?|hours?|min|mins|minutes?|days?)\b\s*\)?"
)


def read_section(state: ParseState, section: Section, inherited: dict[str, Any]) -> None:
    heading = strip_symbols(plain_text(section.heading))
    if section.level >= 1 and heading_task(section):
        read_task_section(state, section, inherited)
        return
    if section.level >= 2 and _GATE_HEADING.search(heading) and read_gate(state, section):
        return
    if section.level >= 1 and _EXAMPLE_HEADING.search(heading):
        skip_example(state, section)  # templates and examples: text to copy, not tasks
        return
    own = section_fields(state, section)
    track = _TRACK_HEADING.match(heading) if section.level >= 2 else None
    scope = {**inherited, **own}
    if section.level >= 2:
        name = clean_title(track.group("title")) if track else section.track_name
        scope["track"] = clean_title(_DONE_MARK.sub(" ", name)) if _DONE_WORD.search(name) else name
        scope["key_prefix"] = section.key_prefix
        scope["chain"] = [section.title, *inherited.get("chain", [])]
    if track and track.group("owner") and "owner" not in own:
        owner, others = people(track.group("owner"))
        scope["owner"], scope["collaborators"] = owner, others
        scope["owner_from"] = f"heading {section.title!r}"
    before = len(state.tasks)
    read_section_blocks(state, section, scope)
    for child in section.children:
        read_section(state, child, scope)
    if section.level >= 2 and _DONE_WORD.search(heading):
        mark_section_done(state, section, list(state.tasks)[before:])
    if len(state.tasks) == before and track:
        read_track_as_task(state, section, scope, track.group("key"))
    elif len(state.tasks) == before and own.get("owner") and section.level >= 1:
        read_section_as_task(state, section, scope)


def read_gate(state: ParseState, section: Section) -> bool:
    """A gate section's checklist becomes one plan gate; False when it has no checklist."""
    items: list[GateItem] = []

    def walk(block: Block) -> None:
        for item in block.children:
            checkbox = CHECKBOX.match(item.item_text)
            if checkbox:
                text = clean_title(item.item_text[checkbox.end() :])
                items.append(GateItem(text, checkbox.group(1) in "xX", item.line))
            for child in item.children:
                if child.kind == "list":
                    walk(child)

    for block in section.blocks:
        if block.kind == "list":
            walk(block)
    if not items or section.children:
        return False
    state.gates.append(PlanGate(section.title, section.line, items))
    infer(state, section.line, f"{section.title!r} read as a plan gate ({len(items)} item(s))")
    return True


def read_track_as_task(
    state: ParseState, section: Section, scope: dict[str, Any], key: str
) -> None:
    """'## Track D — Title (Owner)' with no tasks under it is task D itself."""
    task = new_task(state, key, scope["track"], section.line, scope)
    read_body(state, task, section.blocks, skip=("owner", "goal"))
    add_task(state, task)


def section_fields(state: ParseState, section: Section) -> dict[str, Any]:
    """Owner/Agents and Goal lines directly under a heading apply to its tasks."""
    fields: dict[str, Any] = {}
    for block in section.blocks:
        if bold_label(block) is not None:
            break  # from here on the lines belong to "**D1) Title**" tasks
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
    blocks = list(section.blocks)
    index = 0
    while index < len(blocks):
        block = blocks[index]
        index += 1
        label = bold_label(block)
        if label is not None:  # "**D1) Title**" and what follows until the next label
            body: list[Block] = []
            if block.text.count("\n"):
                first_end = block.text.index("\n")
                rest = block.text[first_end + 1 :]
                body.append(Block("paragraph", block.line + 1, block.end, text=rest))
            while index < len(blocks) and bold_label(blocks[index]) is None:
                if blocks[index].kind in ("table",):
                    break
                body.append(blocks[index])
                index += 1
            read_labelled_task(state, block, label, body, scope)
            pending = None
            continue
        group = agent_label(state, pending)
        if block.kind == "table":
            read_table(state, block, scope)
        elif block.kind == "list" and group:
            line = block.line - 1
            group_scope = {
                **scope,
                "owner": group,
                "collaborators": [],
                "owner_from": f"group label {group!r}",
            }
            read_checkbox_list(state, block, group_scope, as_tasks=True)
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
        if as_tasks and block.ordered:
            keep_candidate(state, item, scope)
        for child in item.children:
            if child.kind == "list":
                read_checkbox_list(state, child, scope, as_tasks=as_tasks)


def read_task_section(state: ParseState, section: Section, inherited: dict[str, Any]) -> None:
    found = heading_task(section)
    assert found is not None
    key = normalize_key(found[0], section.line)
    task = new_task(state, key, clean_title(found[1]), section.line, inherited)
    task.title = title_facts(state, task, found[1], section.line)
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
    text, _, continued = item.item_text.partition("\n")
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
    task.title = title_facts(state, task, keyed.group("title") if keyed else title_md, item.line)
    if mentions:  # "- [ ] Write docs @copilot @codex": the first one owns it
        task.owner, task.collaborators = mentions[0], list(dict.fromkeys(mentions[1:]))
    if tail.strip():
        add_note(task, plain_text(tail, keep_code=True))
    scan_dependencies(state, task.key, text, item.line)
    body = item.children[1:]
    if continued.strip():  # "  Notes: ..." lines that markdown joined to the item
        body = [Block("paragraph", item.line + 1, item.line + 1, text=continued), *body]
    read_body(state, task, body, checkbox_done=task.status == "done")
    add_task(state, task)


def bold_label(block: Block) -> tuple[str, str] | None:
    """'**D1) Provision the cluster**' alone on a paragraph's first line: (id, title)."""
    if block.kind != "paragraph":
        return None
    first = block.text.split("\n", 1)[0].strip()
    bold = re.match(r"^(\*\*|__)(?P<inner>.+?)\1(?P<tail>.*)$", first)
    if not bold:
        return None
    match = _ID_TITLE.match(strip_symbols(plain_text(bold.group("inner"))))
    if not match:
        return None
    return match.group("key"), f"{match.group('title')} {bold.group('tail')}".strip()


def agent_label(state: ParseState, pending: Field | None) -> str:
    """'**Copilot**:' above a list: the agent who owns the list's items."""
    if pending is None or pending.kind != "other" or pending.value:
        return ""
    known = {normalize_agent_name(n) for n in (*KNOWN_AGENTS, state.coordinator) if n}
    return pending.label if normalize_agent_name(pending.label) in known else ""


def read_labelled_task(
    state: ParseState,
    block: Block,
    label: tuple[str, str],
    body: list[Block],
    scope: dict[str, Any],
) -> None:
    key = normalize_key(label[0], block.line)
    task = new_task(state, key, label[1], block.line, scope)
    task.title = title_facts(state, task, label[1], block.line)
    scan_dependencies(state, task.key, label[1], block.line)
    read_body(state, task, body)
    add_task(state, task)


_BOLD_ID = re.compile(rf"^\*\*(?P<key>{WRITTEN_ID})\*\*\s*[:\u2014\u2013-]?\s*(?P<title>\S.*)$")


def keep_candidate(state: ParseState, item: Block, scope: dict[str, Any]) -> None:
    """'1. **H26** Trim the SDK': a task, unless the plan defines H26 elsewhere (then
    the list only mentions it, like an execution order)."""
    text = item.item_text.partition("\n")[0].strip()
    match = _BOLD_ID.match(text)
    if not match or match.group("key").startswith("#"):
        return
    key = match.group("key")
    task = new_task(state, key, match.group("title"), item.line, scope)
    state.candidates.append((task, match.group("title"), item.line))


def add_candidates(state: ParseState) -> None:
    for task, title, line in state.candidates:
        if task.key in state.tasks:
            continue
        task.title = title_facts(state, task, title, line)
        scan_dependencies(state, task.key, title, line)
        add_task(state, task)


def mark_section_done(state: ParseState, section: Section, keys: list[str]) -> None:
    """'## Phase 1 ✅ COMPLETED': its tasks are done, unless a box or a Status says otherwise."""
    for key in keys:
        task = state.tasks[key]
        if task.status == "":
            task.status = "done"
            infer(state, task.source_line, f"task {key} is done: section {section.title!r}")
        elif task.status != "done":
            state.warnings.append(
                f"line {task.source_line}: task {key} is {task.status} but its section "
                f"{section.title!r} says it is complete; kept {task.status}"
            )


def skip_example(state: ParseState, section: Section) -> None:
    """Say so when a template/example section holds checkboxes outside code blocks."""
    boxes = []

    def walk(blocks: list[Block]) -> None:
        for block in blocks:
            if block.kind == "list":
                for item in block.children:
                    if CHECKBOX.match(item.item_text):
                        boxes.append(item.line)
                    walk(item.children)

    def visit(current: Section) -> None:
        walk(current.blocks)
        for child in current.children:
            visit(child)

    visit(section)
    if boxes:
        state.warnings.append(
            f"line {boxes[0]}: {len(boxes)} checkbox(es) under {section.title!r} not read as "
            "tasks: the heading marks a template or example (rename it to import them)"
        )

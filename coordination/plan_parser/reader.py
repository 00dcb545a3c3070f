"""The plan reader's entry points and its order of steps (see the package docstring)."""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePath

from markdown_it import MarkdownIt

from coordination.plan_parser.blocks import Block, build_blocks, build_sections
from coordination.plan_parser.model import ParsedPlan, ParsedTask, PlanNote, PlanParseError
from coordination.plan_parser.resolve import (
    assign_owners_from_headings,
    known_agents,
    mark_critical_reviews,
    resolve_dependencies,
    settle_statuses,
)
from coordination.plan_parser.sections import add_candidates, read_section
from coordination.plan_parser.state import ParseState
from coordination.plan_parser.tables import reject_broken_tables
from coordination.plan_parser.text import (
    clean_title,
    looks_mis_encoded,
    plain_text,
    repair_mojibake,
    warning_line,
)


def parse_plan(text: str, *, source_name: str = "") -> ParsedPlan:
    """Parse a plan given as text; the checksum is the sha256 of its UTF-8 encoding.

    For a file read with ``Path.read_text()`` that is the sha256 of the file itself,
    so a coordinator can compare it with ``sha256sum``.
    """
    checksum = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return read_plan(ParseState(text, checksum=checksum, source_name=source_name))


def parse_plan_bytes(data: bytes, *, source_name: str = "") -> ParsedPlan:
    """Parse an uploaded file; undecodable bytes are an error with the line they sit on."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise PlanParseError(data.count(b"\n", 0, nul) + 1, _BINARY_MESSAGE)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise PlanParseError(
            line, f"byte 0x{data[exc.start]:02x} is not UTF-8; save the plan as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff")
    checksum = hashlib.sha256(data).hexdigest()
    return read_plan(ParseState(text, checksum=checksum, source_name=source_name))


_BINARY_MESSAGE = "NUL byte: this looks like binary content, not a markdown plan"


def read_plan(state: ParseState) -> ParsedPlan:
    """Every step in order: blocks, sections and tables into tasks, then the passes."""
    text = state.original.replace("\r\n", "\n").replace("\r", "\n")
    reject_binary(state, text)
    text, repaired_lines = repair_mojibake(text)
    if repaired_lines:
        state.warnings.append(
            f"line {repaired_lines[0]}: repaired mis-encoded UTF-8 (mojibake) on "
            f"{len(repaired_lines)} line(s)"
        )
    state.lines = text.split("\n")
    for number, line in enumerate(state.lines, start=1):
        if looks_mis_encoded(line):
            state.warnings.append(
                f"line {number}: looks mis-encoded (mojibake) but cannot be repaired "
                "with confidence; left as written"
            )
    state.coordinator = find_coordinator(state, text)
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    blocks = build_blocks(md.parse(text))
    reject_broken_tables(state, blocks)
    root = build_sections(blocks)
    title = find_title(state, blocks)
    read_section(state, root, inherited={})
    add_candidates(state)
    if not state.tasks:
        raise PlanParseError(
            1,
            "no tasks found: expected a task table, '### Task X: ...' sections "
            "or '- [ ]' checkbox items",
        )
    state.agent_names = known_agents(state)
    state.keys_by_lowercase = {key.lower(): key for key in state.tasks}
    assign_owners_from_headings(state)
    resolve_dependencies(state)
    mark_critical_reviews(state)
    settle_statuses(state)
    tasks = list(state.tasks.values())
    warn_derived_keys(state, tasks)
    for task in tasks:  # unknown is None, never an empty string (nothing guessed)
        task.priority = task.priority or None
        task.risk = task.risk or None
        task.key_derived = task.key in state.derived_keys
    tracks = list(dict.fromkeys(t.track for t in tasks if t.track))
    return ParsedPlan(
        title=title,
        tasks=tasks,
        tracks=tracks,
        warnings=[as_note(w) for w in sorted(dict.fromkeys(state.warnings), key=warning_line)],
        checksum=state.checksum,
        repaired_mojibake=bool(repaired_lines),
        source_name=state.source_name,
        coordinator=state.coordinator,
        gates=list(state.gates),
        inferences=[as_note(i) for i in sorted(dict.fromkeys(state.inferences), key=warning_line)],
    )


def reject_binary(state: ParseState, text: str) -> None:
    nul = text.find("\x00")
    if nul >= 0:
        raise PlanParseError(text.count("\n", 0, nul) + 1, _BINARY_MESSAGE)
    controls = [m.start() for m in re.finditer(r"[\x01-\x08\x0e-\x1a\x1c-\x1f]", text)]
    if controls and len(controls) * 100 >= len(text):
        line = text.count("\n", 0, controls[0]) + 1
        raise PlanParseError(line, "control characters: this looks like binary content")


def find_coordinator(state: ParseState, text: str) -> str:
    plain = plain_text(text)
    patterns = (
        r"\bCoordinator\s*:\s*(?P<name>[A-Z][\w-]*(?: [A-Z][\w-]*){0,2})",
        r"(?P<name>[A-Z][\w-]*(?: [A-Z][\w-]*){0,2}) is the coordinator\b",
        r"[-\u2013\u2014] (?P<name>[A-Z][\w-]*(?: [A-Z][\w-]*){0,2}) Coordination Role\b",
    )
    for pattern in patterns:
        match = re.search(pattern, plain)
        if match:
            return match.group("name")
    return ""


def find_title(state: ParseState, blocks: list[Block]) -> str:
    for block in blocks:
        if block.kind == "heading" and block.level == 1:
            return clean_title(block.text)
    first = next(((i, line) for i, line in enumerate(state.lines, 1) if line.strip()), None)
    if first:
        match = re.match(r"^(?P<stray>[^#\s]{1,8})#{1,6}\s+(?P<title>\S.*)$", first[1])
        if match:
            title = clean_title(match.group("title"))
            state.warnings.append(
                f"line {first[0]}: stray {match.group('stray')!r} before '#'; "
                f"read {title!r} as the plan title"
            )
            return title
    for block in blocks:
        if block.kind == "heading":
            return clean_title(block.text)
    return PurePath(state.source_name).stem if state.source_name else ""


def as_note(warning: str) -> PlanNote:
    """A ``"line N: message"`` string as a PlanNote (line 1 when it names no line)."""
    match = re.match(r"line (\d+): (.*)\Z", warning, flags=re.DOTALL)
    if match:
        return PlanNote(int(match.group(1)), match.group(2))
    return PlanNote(1, warning)


def warn_derived_keys(state: ParseState, tasks: list[ParsedTask]) -> None:
    """A key made from a title is not the plan's: say so, once per section."""
    by_track: dict[str, list[ParsedTask]] = {}
    for task in tasks:
        if task.key in state.derived_keys:
            by_track.setdefault(task.track, []).append(task)
    for track, derived in by_track.items():
        where = f"under {track!r}" if track else "outside any section"
        state.warnings.append(
            f"line {derived[0].source_line}: {len(derived)} task(s) {where} have no id "
            f"(like A1, #3 or CC-2); keys derived from their titles: "
            + ", ".join(t.key for t in derived)
        )

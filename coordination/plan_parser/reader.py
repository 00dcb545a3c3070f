"""The plan reader: sections, task headings, tables and checklists become tasks."""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePath
from typing import Any

from markdown_it import MarkdownIt

from coordination.plan_parser.body import _TaskBodyReader
from coordination.plan_parser.markdown import _Block, _build_blocks, _build_sections, _Section
from coordination.plan_parser.model import ParsedPlan, ParsedTask, PlanParseError
from coordination.plan_parser.text import (
    _CHECKBOX,
    _CHECKBOX_STATUS,
    _KEY_LIKE,
    _STRIKE,
    _clean_title,
    _Field,
    _field,
    _people,
    _plain,
    _slug,
    _split_row,
    _strip_symbols,
    _warning_line,
    repair_mojibake,
)

# --------------------------------------------------------------------------- entry points


def parse_plan(text: str, *, source_name: str = "") -> ParsedPlan:
    """Parse a plan given as text; the checksum is the sha256 of its UTF-8 encoding.

    For a file read with ``Path.read_text()`` that is the sha256 of the file itself,
    so a coordinator can compare it with ``sha256sum``.
    """
    checksum = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _PlanReader(text, checksum=checksum, source_name=source_name).read()


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
    return _PlanReader(text, checksum=checksum, source_name=source_name).read()


# --------------------------------------------------------------------------- the reader

_BINARY_MESSAGE = "NUL byte: this looks like binary content, not a markdown plan"
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
_SCALARS = ("owner", "reviewer", "priority", "risk", "branch", "goal", "status")


class _PlanReader(_TaskBodyReader):
    """One parse: the state that grows while the sections of a plan are read."""

    def __init__(self, text: str, *, checksum: str, source_name: str) -> None:
        self.original = text
        self.checksum = checksum
        self.source_name = source_name
        self.tasks: dict[str, ParsedTask] = {}
        self.warnings: list[str] = []
        self.coordinator = ""
        self.derived_keys: set[str] = set()
        # Per task key: dependency mentions (ref, line, said "Task"), the states of its
        # acceptance checkboxes, and the headings above it (nearest first).
        self.dep_refs: dict[str, list[tuple[str, int, bool]]] = {}
        self.checkbox_states: dict[str, list[bool]] = {}
        self.chains: dict[str, list[str]] = {}
        # Paragraph lines and list items outside task sections: critical-review signals.
        self.prose: list[tuple[str, int, list[str]]] = []
        self.lines: list[str] = []
        # Filled once every task is read, for the passes that look tasks up by name.
        self.agent_names: list[str] = []
        self.keys_by_lowercase: dict[str, str] = {}

    # ----------------------------------------------------------------- top level

    def read(self) -> ParsedPlan:
        text = self.original.replace("\r\n", "\n").replace("\r", "\n")
        self._reject_binary(text)
        text, repaired_lines = repair_mojibake(text)
        if repaired_lines:
            self.warnings.append(
                f"line {repaired_lines[0]}: repaired mis-encoded UTF-8 (mojibake) on "
                f"{len(repaired_lines)} line(s)"
            )
        self.lines = text.split("\n")
        self.coordinator = self._find_coordinator(text)
        md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
        blocks = _build_blocks(md.parse(text))
        self._reject_broken_tables(blocks)
        root = _build_sections(blocks)
        title = self._find_title(blocks)
        self._read_section(root, inherited={})
        if not self.tasks:
            raise PlanParseError(
                1,
                "no tasks found: expected a task table, '### Task X: ...' sections "
                "or '- [ ]' checkbox items",
            )
        self.agent_names = self._known_agents()
        self.keys_by_lowercase = {key.lower(): key for key in self.tasks}
        self._assign_owners_from_headings()
        self._resolve_dependencies()
        self._mark_critical_reviews()
        self._settle_statuses()
        tasks = list(self.tasks.values())
        tracks = list(dict.fromkeys(t.track for t in tasks if t.track))
        return ParsedPlan(
            title=title,
            tasks=tasks,
            tracks=tracks,
            warnings=sorted(dict.fromkeys(self.warnings), key=_warning_line),
            checksum=self.checksum,
            repaired_mojibake=bool(repaired_lines),
            source_name=self.source_name,
            coordinator=self.coordinator,
        )

    def _reject_binary(self, text: str) -> None:
        nul = text.find("\x00")
        if nul >= 0:
            raise PlanParseError(text.count("\n", 0, nul) + 1, _BINARY_MESSAGE)
        controls = [m.start() for m in re.finditer(r"[\x01-\x08\x0e-\x1a\x1c-\x1f]", text)]
        if controls and len(controls) * 100 >= len(text):
            line = text.count("\n", 0, controls[0]) + 1
            raise PlanParseError(line, "control characters: this looks like binary content")

    def _find_coordinator(self, text: str) -> str:
        plain = _plain(text)
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

    def _find_title(self, blocks: list[_Block]) -> str:
        for block in blocks:
            if block.kind == "heading" and block.level == 1:
                return _clean_title(block.text)
        first = next(((i, line) for i, line in enumerate(self.lines, 1) if line.strip()), None)
        if first:
            match = re.match(r"^(?P<stray>[^#\s]{1,8})#{1,6}\s+(?P<title>\S.*)$", first[1])
            if match:
                title = _clean_title(match.group("title"))
                self.warnings.append(
                    f"line {first[0]}: stray {match.group('stray')!r} before '#'; "
                    f"read {title!r} as the plan title"
                )
                return title
        for block in blocks:
            if block.kind == "heading":
                return _clean_title(block.text)
        return PurePath(self.source_name).stem if self.source_name else ""

    def _reject_broken_tables(self, blocks: list[_Block]) -> None:
        """A task table markdown did not recognise would lose its tasks without a word."""
        for block in blocks:
            if block.kind != "paragraph":
                continue
            rows = block.text.split("\n")
            if len(rows) < 2 or not rows[0].lstrip().startswith("|"):
                continue
            header = _split_row(rows[0])
            if not self._is_task_table([self._column_kind(cell) for cell in header]):
                continue
            if re.fullmatch(r"\s*\|?[\s:|-]*-[\s:|-]*", rows[1]):
                separator = _split_row(rows[1])
                raise PlanParseError(
                    block.line + 1,
                    f"table separator row has {len(separator)} cells but the header has "
                    f"{len(header)}",
                )
            raise PlanParseError(
                block.line, "table header is not followed by a separator row like |---|---|"
            )

    # ----------------------------------------------------------------- sections

    def _read_section(self, section: _Section, inherited: dict[str, Any]) -> None:
        if section.level >= 1 and _TASK_HEADING.match(_strip_symbols(_plain(section.heading))):
            self._read_task_section(section, inherited)
            return
        own = self._section_fields(section)
        scope = {**inherited, **own}
        if section.level >= 2:
            scope["track"] = section.track_name
            scope["key_prefix"] = section.key_prefix
            scope["chain"] = [section.title, *inherited.get("chain", [])]
        before = len(self.tasks)
        self._read_section_blocks(section, scope)
        for child in section.children:
            self._read_section(child, scope)
        if len(self.tasks) == before and own.get("owner") and section.level >= 1:
            self._read_section_as_task(section, scope)

    def _section_fields(self, section: _Section) -> dict[str, Any]:
        """Owner/Agents and Goal lines directly under a heading apply to its tasks."""
        fields: dict[str, Any] = {}
        for block in section.blocks:
            if block.kind != "paragraph":
                continue
            for line in block.text.split("\n"):
                found = _field(line)
                if found and found.kind == "owner" and "owner" not in fields:
                    fields["owner"], fields["collaborators"] = _people(found.value)
                    fields["agents_line"] = f"{found.label}: {_plain(found.value)}"
                elif found and found.kind == "goal" and found.value:
                    fields["goal"] = _plain(found.value, keep_code=True)
        return fields

    def _read_section_blocks(self, section: _Section, scope: dict[str, Any]) -> None:
        pending: _Field | None = None
        chain = scope.get("chain", [])
        for block in section.blocks:
            if block.kind == "table":
                self._read_table(block, scope)
            elif block.kind == "list":
                labelled = pending is not None and pending.kind in ("accept", "files")
                self._read_checkbox_list(block, scope, as_tasks=not labelled)
            if block.kind == "paragraph":
                for offset, line in enumerate(block.text.split("\n")):
                    self.prose.append((line, block.line + offset, chain))
                last = block.text.split("\n")[-1]
                pending = _field(last)
            else:
                pending = None

    def _read_checkbox_list(self, block: _Block, scope: dict[str, Any], *, as_tasks: bool) -> None:
        for item in block.children:
            text = item.item_text
            self.prose.append((text, item.line, scope.get("chain", [])))
            if as_tasks and _CHECKBOX.match(text):
                self._read_checkbox_task(item, scope)
                continue
            for child in item.children:
                if child.kind == "list":
                    self._read_checkbox_list(child, scope, as_tasks=as_tasks)

    # ----------------------------------------------------------------- task builders

    def _new_task(self, key: str, title: str, line: int, scope: dict[str, Any]) -> ParsedTask:
        task = ParsedTask(key=key, title=title, track=scope.get("track", ""), source_line=line)
        task.owner = scope.get("owner", "")
        task.collaborators = list(scope.get("collaborators", []))
        task.goal = scope.get("goal", "")
        task.status = ""  # "" until stated; settled to todo at the end
        if scope.get("agents_line"):
            task.notes = scope["agents_line"]
        self.chains.setdefault(key, list(scope.get("chain", [])))
        return task

    def _derived_key(self, prefix: str, title: str, line: int) -> str:
        """Key for a task the plan does not name: '<section>.<item-slug>', made unique."""
        slug = _slug(title) or f"line-{line}"
        key = f"{prefix}.{slug}" if prefix else slug
        if key in self.derived_keys or key in self.tasks:
            number = 2
            while f"{key}-{number}" in self.derived_keys or f"{key}-{number}" in self.tasks:
                number += 1
            self.warnings.append(
                f"line {line}: another task is already called {key!r}; using {key}-{number}"
            )
            key = f"{key}-{number}"
        self.derived_keys.add(key)
        return key

    def _read_task_section(self, section: _Section, inherited: dict[str, Any]) -> None:
        match = _TASK_HEADING.match(_strip_symbols(_plain(section.heading)))
        assert match is not None
        key = self._normalize_key(match.group("key"), section.line)
        task = self._new_task(key, _clean_title(match.group("title")), section.line, inherited)
        self._scan_dependencies(task.key, section.heading, section.line)
        if _STRIKE.fullmatch(section.heading.strip()):
            task.status = "cancelled"
        blocks = self._section_blocks_with_labels(section)
        self._read_body(task, blocks)
        self._add_task(task)
        for block in blocks:  # a task table inside a task section still lists tasks
            if block.kind == "table":
                self._read_table(block, inherited)

    def _section_blocks_with_labels(self, section: _Section) -> list[_Block]:
        """A task's blocks, with each deeper heading turned into a '**Heading**:' label."""
        blocks = list(section.blocks)
        for child in section.children:
            label = _Block("paragraph", child.line, child.line, text=f"**{child.title}**:")
            blocks.append(label)
            blocks.extend(self._section_blocks_with_labels(child))
        return blocks

    def _read_section_as_task(self, section: _Section, scope: dict[str, Any]) -> None:
        """A section that names its agents but lists no tasks is one task, not nothing."""
        key = self._derived_key(section.enumerator, section.track_name, section.line)
        task = self._new_task(key, section.track_name, section.line, scope)
        # Its Owner/Agents and Goal lines are already in the scope it was created from.
        self._read_body(task, section.blocks, skip=("owner", "goal"))
        self._add_task(task)

    def _read_checkbox_task(self, item: _Block, scope: dict[str, Any]) -> None:
        text = item.item_text
        checkbox = _CHECKBOX.match(text)
        assert checkbox is not None
        rest = text[checkbox.end() :].strip()
        mentions = re.findall(r"(?<![\w`])@([A-Za-z][\w-]*)", rest)
        rest = re.sub(r"(?<![\w`])@[A-Za-z][\w-]*", " ", rest).strip()
        bold = _BOLD_TITLE.match(rest)
        title_md, tail = (bold.group("title"), bold.group("tail")) if bold else (rest, "")
        if _KEY_LIKE.fullmatch(_plain(title_md)) and tail.strip():  # "**CC-7**: Wire it"
            title_md, tail = f"{_plain(title_md)}: {tail}", ""
        keyed = _ITEM_KEY.match(_plain(title_md))
        if keyed:
            key = self._normalize_key(keyed.group("k1") or keyed.group("k2"), item.line)
            title = _clean_title(keyed.group("title"))
        else:
            title = _clean_title(title_md)
            key = self._derived_key(scope.get("key_prefix", ""), title, item.line)
        task = self._new_task(key, title, item.line, scope)
        task.status = _CHECKBOX_STATUS[checkbox.group(1)]
        if _STRIKE.fullmatch(title_md.strip()):
            task.status = "cancelled"
        if mentions:  # "- [ ] Write docs @copilot @codex": the first one owns it
            task.owner, task.collaborators = mentions[0], list(dict.fromkeys(mentions[1:]))
        if tail.strip():
            self._add_note(task, _plain(tail, keep_code=True))
        self._scan_dependencies(task.key, text, item.line)
        self._read_body(task, item.children[1:], checkbox_done=task.status == "done")
        self._add_task(task)

    def _normalize_key(self, raw: str, line: int) -> str:
        """Keys as plans write them: a bare number gets '#' ('1' -> '#1'), others stay."""
        key = re.sub(r"^task\s+", "", _plain(raw), flags=re.IGNORECASE).strip()
        if re.fullmatch(r"#?\s*\d+", key):
            return "#" + key.lstrip("#").strip()
        if re.fullmatch(r"#?[A-Za-z0-9][A-Za-z0-9._-]*", key):
            return key
        raise PlanParseError(
            line, f"{key!r} is not a task key (letters, digits, '-' or '.', e.g. A, #3, CC-1)"
        )

    # ----------------------------------------------------------------- tables

    @staticmethod
    def _column_kind(header: str) -> str:
        name = " ".join(re.sub(r"[^a-z0-9# ]", " ", _plain(header).lower()).split())
        if name in _COLUMN_KINDS:
            return _COLUMN_KINDS[name]
        if name.endswith(" role") or name.endswith(" review"):
            return "role"
        return "other"

    @staticmethod
    def _is_task_table(kinds: list[str]) -> bool:
        has_title = "title" in kinds or "task" in kinds
        facts = {"owner", "key", "time", "priority", "risk", "status"}
        return has_title and bool(facts & set(kinds))

    def _read_table(self, block: _Block, scope: dict[str, Any]) -> None:
        header = _split_row(self.lines[block.line - 1])
        kinds = [self._column_kind(cell) for cell in header]
        if not self._is_task_table(kinds):
            return
        if "task" in kinds:  # "| Task | Title |": Task is the key; alone it is the title
            kinds[kinds.index("task")] = "key" if "title" in kinds else "title"
        for number in range(block.line + 2, block.end + 1):
            raw = self.lines[number - 1]
            if not raw.strip():
                continue
            if "|" not in raw:
                self.warnings.append(
                    f"line {number}: text right under a table without a blank line; ignored"
                )
                continue
            cells = _split_row(raw)
            if len(cells) > len(header) and not any(cells[len(header) :]):
                cells = cells[: len(header)]
            if len(cells) != len(header):
                hint = " (escape a '|' inside a cell as '\\|')" if len(cells) > len(header) else ""
                raise PlanParseError(
                    number,
                    f"table row has {len(cells)} cells but the header has {len(header)}{hint}",
                )
            self._read_table_row(header, kinds, cells, number, scope)

    def _read_table_row(
        self, header: list[str], kinds: list[str], cells: list[str], line: int, scope: dict
    ) -> None:
        if not any(_plain(c) for c in cells):
            return
        row = dict(zip(kinds, cells, strict=True))
        title = _clean_title(row.get("title", ""))
        if row.get("key") and _plain(row["key"]):
            key = self._normalize_key(row["key"], line)
        elif title:
            key = self._derived_key(scope.get("key_prefix", ""), title, line)
        else:
            self.warnings.append(f"line {line}: table row has neither a key nor a title; skipped")
            return
        if not title:
            self.warnings.append(f"line {line}: task {key} has no title")
            title = key
        task = self._new_task(key, title, line, scope)
        if _STRIKE.fullmatch(row.get("title", "").strip()):
            task.status = "cancelled"
        for kind, head, cell in zip(kinds, header, cells, strict=True):
            if not _plain(cell) or _plain(cell) in {"-", "\u2014", "\u2013"}:
                continue
            self._apply_cell(task, kind, _plain(head), cell, line)
        self._add_task(task)

    def _apply_cell(self, task: ParsedTask, kind: str, head: str, cell: str, line: int) -> None:
        if kind == "owner":
            task.owner, task.collaborators = _people(cell)
        elif kind == "role":
            who = re.sub(r"\s*\b(role|review)$", "", head, flags=re.IGNORECASE).strip()
            text = _plain(cell).lower()
            if "review" in text or "critical" in text:
                task.reviewer = self._resolve_reviewer(who or self.coordinator)
            if "critical" in text:
                task.requires_critical_review = True
            self._add_note(task, f"{head}: {_plain(cell)}")
        elif kind in ("key", "title", "task"):
            self._scan_dependencies(task.key, cell, line)
        else:  # the other column kinds are named like the field kinds
            self._apply_field(task, _Field(kind, head, cell), line)

    # ----------------------------------------------------------------- merging

    def _add_task(self, task: ParsedTask) -> None:
        """Store a task; a key seen before merges into the first, or fails on a conflict."""
        old = self.tasks.get(task.key)
        if old is None:
            self.tasks[task.key] = task
            return
        for name in _SCALARS:
            mine, theirs = getattr(old, name), getattr(task, name)
            if not mine:
                setattr(old, name, theirs)
            elif theirs and self._differs(name, mine, theirs):
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
        self._extend(old.collaborators, [c for c in task.collaborators if c != old.owner])
        self._extend(old.files, task.files)
        for item in task.acceptance:
            if item not in old.acceptance:
                old.acceptance.append(item)
        old.requires_critical_review = old.requires_critical_review or task.requires_critical_review
        old.title = old.title or task.title
        old.track = old.track or task.track
        if task.notes and task.notes not in old.notes:
            self._add_note(old, task.notes)

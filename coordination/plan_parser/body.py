"""What a task's own lines say: labelled fields, acceptance items, files, people, notes."""

from __future__ import annotations

import unicodedata

from coordination.plan_parser.markdown import _Block
from coordination.plan_parser.model import AcceptanceItem, ParsedTask, PlanParseError
from coordination.plan_parser.resolve import _PlanResolver
from coordination.plan_parser.text import (
    _CHECKBOX,
    _CODE_SPAN,
    _clean_title,
    _Field,
    _field,
    _files,
    _people,
    _plain,
    _priority,
    _risk,
    _status,
    parse_estimate,
)


class _TaskBodyReader(_PlanResolver):
    """Reads the blocks under one task into its fields (see ``_PlanReader``)."""

    def _read_body(
        self,
        task: ParsedTask,
        blocks: list[_Block],
        *,
        checkbox_done: bool = False,
        skip: tuple[str, ...] = (),
    ) -> None:
        pending: _Field | None = None
        for block in blocks:
            if block.kind == "paragraph":
                lines = block.text.split("\n")
                pending = None
                for offset, line in enumerate(lines):
                    found = _field(line)
                    number = block.line + offset
                    if found and found.kind in skip:
                        pending = None
                    elif found:
                        self._apply_field(task, found, number, checkbox_done=checkbox_done)
                        pending = found if offset == len(lines) - 1 else None
                    else:
                        self._add_note(task, _plain(line, keep_code=True))
                        self._scan_dependencies(task.key, line, number)
            elif block.kind == "list":
                for item in block.children:
                    self._read_body_item(task, item, pending, checkbox_done=checkbox_done)
                pending = None
            else:
                pending = None

    def _read_body_item(
        self, task: ParsedTask, item: _Block, label: _Field | None, *, checkbox_done: bool
    ) -> None:
        text = item.item_text
        checkbox = _CHECKBOX.match(text)
        body = text[checkbox.end() :] if checkbox else text
        self._scan_dependencies(task.key, body, item.line)
        found = _field(body) if label is None else None
        kind = label.kind if label is not None else None
        if found:
            self._apply_field(task, found, item.line, checkbox_done=checkbox_done)
        elif kind == "accept" or (checkbox and kind in (None, "other")):
            done = bool(checkbox and checkbox.group(1) in "xX")
            self._add_acceptance(task, body, done, from_checkbox=bool(checkbox))
        elif kind == "files":
            self._extend(task.files, _files(body))
        elif kind in ("owner", "collaborators"):
            owner, others = _people(body)
            if kind == "owner" and not task.owner:
                task.owner = owner
            else:
                others = [owner, *others]
            self._extend(task.collaborators, [n for n in others if n != task.owner])
        elif kind == "depends":
            self._add_refs(task.key, body, item.line, explicit=True)
        else:
            self._add_note(task, f"- {_plain(body, keep_code=True)}")
        for child in item.children[1:]:
            if child.kind == "list":
                for sub in child.children:
                    self._read_body_item(task, sub, label, checkbox_done=checkbox_done)

    def _apply_field(
        self, task: ParsedTask, found: _Field, line: int, *, checkbox_done: bool = False
    ) -> None:
        value = found.value
        plain = _plain(value, keep_code=True)
        if found.kind == "owner" and value:
            task.owner, task.collaborators = _people(value)
        elif found.kind == "collaborators" and value:
            first, others = _people(value)
            self._extend(task.collaborators, [n for n in (first, *others) if n != task.owner])
        elif found.kind == "reviewer" and value:
            task.reviewer = self._resolve_reviewer(_people(value)[0])
        elif found.kind == "goal" and value:
            task.goal = plain
        elif found.kind == "risk" and value:
            task.risk = self._checked(_risk(value), "risk", value, line)
        elif found.kind == "priority" and value:
            task.priority = self._checked(_priority(value), "priority", value, line)
            if len(_plain(value).split()) > 1:
                self._add_note(task, f"{found.label}: {_plain(value)}")
        elif found.kind == "time" and value:
            task.estimate_min_hours, task.estimate_max_hours = self._estimate(value, line)
        elif found.kind == "branch" and value:
            self._apply_branch(task, found, value)
        elif found.kind == "status" and value:
            task.status = self._checked(_status(value), "status", value, line)
        elif found.kind == "files":
            self._extend(task.files, _files(value))
        elif found.kind == "depends" and value:
            self._add_refs(task.key, value, line, explicit=True)
        elif found.kind == "accept":
            if value:
                self._add_acceptance(task, value, checkbox_done, from_checkbox=False)
        elif found.kind == "track" and value:
            task.track = _clean_title(value)
        elif found.kind == "notes" and value:
            self._add_note(task, plain)
        elif found.kind == "other":
            self._add_note(task, f"{found.label}: {plain}" if plain else f"{found.label}:")
        if found.kind not in ("depends",):
            self._scan_dependencies(task.key, value, line)

    def _apply_branch(self, task: ParsedTask, found: _Field, value: str) -> None:
        code = _CODE_SPAN.search(value)
        plain = _plain(value)
        if code:
            task.branch = code.group(2).strip()
        elif " " not in plain:
            task.branch = plain
        else:  # "Review PR from Codex": says where the work is, but names no branch
            self._add_note(task, f"{found.label}: {plain}")

    def _add_acceptance(
        self, task: ParsedTask, text: str, done: bool, *, from_checkbox: bool
    ) -> None:
        # "✅ All 4 guardrails pass": the tick decorates the criterion, it does not tick it
        clean = _plain(text, keep_code=True)
        while clean and (unicodedata.category(clean[0]) == "So" or clean[0] in "\ufe0f -*\u2022"):
            clean = clean[1:]
        if not clean:
            return
        if any(existing.text == clean for existing in task.acceptance):
            return
        task.acceptance.append(AcceptanceItem(clean, done))
        if from_checkbox:
            self.checkbox_states.setdefault(task.key, []).append(done)

    def _add_note(self, task: ParsedTask, note: str) -> None:
        if note.strip():
            task.notes = f"{task.notes}\n{note}" if task.notes else note

    @staticmethod
    def _extend(target: list[str], values: list[str]) -> None:
        for value in values:
            if value and value not in target:
                target.append(value)

    def _checked(self, value: str | None, what: str, raw: str, line: int) -> str:
        if value is None:
            self.warnings.append(f"line {line}: cannot read {what} {_plain(raw)!r}; left empty")
            return ""
        return value

    def _estimate(self, value: str, line: int) -> tuple[float | None, float | None]:
        try:
            return parse_estimate(value)
        except ValueError as exc:
            raise PlanParseError(line, str(exc)) from None

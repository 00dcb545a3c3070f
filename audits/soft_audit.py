"""Read a soft-audit markdown into findings: severity, area, file hint, summary, owner.

Pure Python, no Django (the ``pure`` import contract checks): the
``soft_audit_inventory`` command turns the findings into
``docs/audits/CODEX_SOFT_AUDIT_TASKS.csv``, coordination tasks and ``gh issue
create`` commands. We wrote it ourselves because no library reads the reviews
people and agents write; they come in a few styles, all of which are read here:

- tables whose header names the columns (``Severity | Area | File | Finding``);
- bullet lists with a marker (``- **[HIGH]** ...``, ``- [high] ...``,
  ``- **High**: ...``, ``- ... Severity: high``) and field sub-bullets
  (``  - File: `x.py:12```);
- headings per area (``## Security``) or per severity (``## High``) over the
  bullets, and headings that are findings themselves (``### [HIGH] Title`` or a
  heading followed by ``**Severity:** high``);
- file hints anywhere in the text: ``path/to/file.py:12``.

A bullet is a finding when it carries a severity (its own or its heading's) or a
file hint; other bullets (scope, notes) are prose. A severity that is written
but not one we know, a table row with the wrong number of cells, a duplicate
finding id or a document without findings is an error carrying its line number.
A finding without a written severity keeps ``unknown``: we do not guess.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

CSV_COLUMNS = ("id", "severity", "area", "file_hint", "summary", "suggested_owner")
SEVERITIES = ("critical", "high", "medium", "low", "info", "unknown")

# What reviewers write for each severity (P0..P3 as trackers name priorities).
_SEVERITY_WORDS = {
    "critical": "critical",
    "crit": "critical",
    "blocker": "critical",
    "p0": "critical",
    "sev0": "critical",
    "sev1": "critical",
    "high": "high",
    "major": "high",
    "p1": "high",
    "sev2": "high",
    "medium": "medium",
    "med": "medium",
    "moderate": "medium",
    "p2": "medium",
    "sev3": "medium",
    "low": "low",
    "minor": "low",
    "p3": "low",
    "sev4": "low",
    "info": "info",
    "informational": "info",
    "nit": "info",
    "note": "info",
    "trivial": "info",
}

# Table header words → field. Several description-like columns are kept as details.
_COLUMN_WORDS = {
    "id": "id",
    "#": "id",
    "ref": "id",
    "key": "id",
    "findingid": "id",
    "severity": "severity",
    "sev": "severity",
    "priority": "severity",
    "level": "severity",
    "risk": "severity",
    "area": "area",
    "category": "area",
    "component": "area",
    "module": "area",
    "domain": "area",
    "lane": "area",
    "file": "file_hint",
    "files": "file_hint",
    "filehint": "file_hint",
    "location": "file_hint",
    "path": "file_hint",
    "where": "file_hint",
    "summary": "summary",
    "finding": "summary",
    "title": "summary",
    "issue": "summary",
    "problem": "summary",
    "description": "details",
    "details": "details",
    "recommendation": "details",
    "fix": "details",
    "suggestion": "details",
    "notes": "details",
    "owner": "owner",
    "suggestedowner": "owner",
    "assignee": "owner",
    "agent": "owner",
}

# Headings that group findings without naming an area.
_GENERIC_HEADINGS = {
    "findings",
    "finding",
    "issues",
    "summary",
    "details",
    "results",
    "observations",
    "softaudit",
    "audit",
    "inventory",
}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+[.)])\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
# A severity marker at the start of a line: [HIGH], **[HIGH]**, **High**:, HIGH:, (high), 🔴 High —
_LEAD_SEVERITY = re.compile(
    r"^(?:[\W_]*?)"  # emoji, bold, brackets
    r"(?:\[\s*(?P<b>[A-Za-z0-9]+)\s*\]|\((?P<p>[A-Za-z0-9]+)\)|(?P<w>[A-Za-z0-9]+)(?=\s*[*_]*\s*[:\-—\u2013]))"
    r"[*_\s]*[:\-—\u2013]?\s*"
)
# A "Field: value" line (also bold: **Severity:** high, or - Severity: high).
_FIELD = re.compile(
    r"^[*_\s]*(?P<name>severity|sev|priority|area|category|component|file|files|location|"
    r"path|owner|suggested owner|assignee|id)[*_\s]*:[*_\s]*(?P<value>.*?)[*_\s]*$",
    re.IGNORECASE,
)
# Inline "Severity: high" inside a sentence.
_INLINE_SEVERITY = re.compile(
    r"[(\[]?\b(?:severity|sev)\s*[:=]\s*[*_`]*(?P<value>[A-Za-z0-9]+)[*_`]*[)\]]?[.;,]?", re.I
)
_FILE_HINT = re.compile(
    r"`?(?P<path>(?:\.{0,2}/)?(?:[\w.@-]+/)*[\w@-][\w.@-]*\.(?:py|pyi|js|ts|tsx|jsx|md|ya?ml|"
    r"toml|json|html|css|sh|cfg|ini|txt|sql|rs|go|lock)(?::\d+(?:[-:]\d+)?)?)`?"
)
_ID = re.compile(r"^\s*[*_`\[]*(?P<id>[A-Z][A-Z0-9]{0,9}-\d+|#\d+)[*_`\]]*\s*[:.\-—\u2013)]?\s+")


class SoftAuditError(ValueError):
    """A document that cannot be read as findings, with the 1-based line that says why."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line


@dataclass(slots=True)
class Finding:
    """One finding as written, with the line it starts on."""

    id: str
    severity: str
    area: str
    file_hint: str
    summary: str
    line: int
    suggested_owner: str = ""
    details: str = ""

    def csv_row(self) -> dict[str, str]:
        return {column: getattr(self, column) for column in CSV_COLUMNS}

    @property
    def file_path(self) -> str:
        """The file hint without its line number (``a/b.py:12`` → ``a/b.py``)."""
        return self.file_hint.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class OwnerRule:
    """``pattern`` (a glob on the file hint, or an area name) → the owner to suggest."""

    pattern: str
    owner: str

    def matches(self, finding: Finding) -> bool:
        if finding.file_path and fnmatch.fnmatch(finding.file_path, self.pattern):
            return True
        return bool(finding.area) and finding.area.casefold() == self.pattern.casefold()


@dataclass(slots=True)
class _Draft:
    line: int
    summary: str
    severity: str = ""
    area: str = ""
    file_hint: str = ""
    id: str = ""
    owner: str = ""
    details: list[str] = field(default_factory=list)
    explicit: bool = False  # has its own severity/field: a finding even without a hint


def severity_of(text: str, line: int) -> str:
    """The canonical severity of ``text`` (``High``, ``**P1**``, ``🔴 critical``)."""
    word = re.sub(r"[^a-z0-9]", "", text.casefold())
    word = word.removesuffix("severity").removesuffix("risk").removesuffix("priority")
    if word in _SEVERITY_WORDS:
        return _SEVERITY_WORDS[word]
    if word in ("", "unknown", "na", "tbd"):
        return "unknown"
    raise SoftAuditError(
        f"{text.strip()!r} is not a severity; write one of: critical, high, medium, low, info",
        line,
    )


def _maybe_severity(text: str) -> str:
    word = re.sub(r"[^a-z0-9]", "", text.casefold())
    return _SEVERITY_WORDS.get(word.removesuffix("severity").removesuffix("findings"), "")


def _clean(text: str) -> str:
    """Markdown emphasis and extra spaces off a summary."""
    text = re.sub(r"(\*\*|__|\*|_(?=\S)|(?<=\S)_)", "", text)
    return re.sub(r"\s+", " ", text).strip(" -—\u2013:;")


def _file_hint(text: str) -> str:
    match = _FILE_HINT.search(text)
    return match.group("path").removeprefix("./") if match else ""


def _take_lead_severity(text: str) -> tuple[str, str]:
    """``[HIGH] foo`` → (``high``, ``foo``); no marker → (``""``, text)."""
    match = _LEAD_SEVERITY.match(text)
    if match:
        word = match.group("b") or match.group("p") or match.group("w") or ""
        severity = _maybe_severity(word)
        if severity:
            return severity, text[match.end() :]
    return "", text


def _take_inline_severity(text: str, line: int) -> tuple[str, str]:
    match = _INLINE_SEVERITY.search(text)
    if not match:
        return "", text
    severity = severity_of(match.group("value"), line)
    return severity, (text[: match.start()] + text[match.end() :])


def _take_id(text: str) -> tuple[str, str]:
    match = _ID.match(text)
    if match:
        return match.group("id"), text[match.end() :]
    return "", text


def _strip_hint(summary: str, hint: str) -> str:
    """Drop a trailing ``(path:12)`` / ``— `path` `` from a summary; keep hints mid-sentence."""
    if not hint:
        return summary
    path = re.escape(hint)
    return re.sub(rf"\s*[,;(\[—\u2013-]*\s*(in|at|see)?\s*`?{path}`?\s*[)\]]?\s*\.?$", "", summary)


def _split_row(row: str) -> list[str]:
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _column_field(header: str) -> str:
    word = re.sub(r"[^a-z#]", "", header.casefold())
    return _COLUMN_WORDS.get(word, "")


class _Reader:
    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines
        self.drafts: list[_Draft] = []
        self.headings: list[tuple[int, str]] = []  # (level, text) stack
        self.current: _Draft | None = None
        self.current_indent = 0
        self.heading_finding = False  # the current draft is a heading (paragraphs are details)
        self.cursor = 0  # index of the line after the one being read

    # -- context from the headings above
    def _area(self) -> str:
        for level, text in reversed(self.headings):
            if level == 1 and len(self.headings) > 1:
                continue
            if _maybe_severity(text) or re.sub(r"[^a-z]", "", text.casefold()) in _GENERIC_HEADINGS:
                continue
            if level == 1:
                return ""
            return _clean(re.sub(r"^\d+(\.\d+)*[.)]?\s+", "", text))
        return ""

    def _heading_severity(self) -> str:
        for _level, text in reversed(self.headings):
            severity = _maybe_severity(re.sub(r"\(.*?\)|\d+", "", text))
            if severity:
                return severity
        return ""

    def _close(self) -> None:
        if self.current is not None:
            self.drafts.append(self.current)
        self.current = None
        self.heading_finding = False

    def _field(self, draft: _Draft, name: str, value: str, line: int) -> None:
        name = name.casefold()
        if name in ("severity", "sev", "priority"):
            draft.severity = severity_of(value, line)
            draft.explicit = True
        elif name in ("area", "category", "component"):
            draft.area = _clean(value)
        elif name in ("file", "files", "location", "path"):
            draft.file_hint = _file_hint(value) or _clean(value.strip("`"))
        elif name in ("owner", "suggested owner", "assignee"):
            draft.owner = _clean(value).lstrip("@")
        elif name == "id":
            draft.id = _clean(value.strip("`"))

    def read(self) -> list[_Draft]:
        in_fence = False
        number = 0
        while number < len(self.lines):
            raw = self.lines[number]
            line_no = number + 1
            number += 1
            self.cursor = number
            if _FENCE.match(raw):
                in_fence = not in_fence
                continue
            if in_fence:
                continue
            heading = _HEADING.match(raw)
            if heading:
                self._close()
                self._heading(len(heading.group(1)), heading.group(2), line_no)
                continue
            is_table = _TABLE_ROW.match(raw) and number < len(self.lines)
            if is_table and _TABLE_SEPARATOR.match(self.lines[number]):
                self._close()
                number = self._table(number - 1)
                continue
            bullet = _BULLET.match(raw)
            if bullet:
                self._bullet(len(bullet.group(1).expandtabs(4)), bullet.group(2), line_no)
                continue
            if not raw.strip():
                if self.current is not None and not self.heading_finding:
                    self._close()
                continue
            self._prose(raw, line_no)
        self._close()
        return self.drafts

    def _heading(self, level: int, text: str, line_no: int) -> None:
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        ident, rest = _take_id(text)
        severity, rest = _take_lead_severity(rest)
        if not severity:
            severity, rest = _take_inline_severity(rest, line_no)
        if not severity:  # "### Title (high)" / "### Title — HIGH"
            match = re.search(
                r"[(\[]\s*([A-Za-z0-9]+)\s*[)\]]\s*$|[—\u2013-]\s*([A-Za-z0-9]+)\s*$", rest
            )
            if match and _maybe_severity(match.group(1) or match.group(2)):
                severity = _maybe_severity(match.group(1) or match.group(2))
                rest = rest[: match.start()]
        is_severity_heading = not ident and (_maybe_severity(text) or not _clean(rest))
        if (severity or ident or self._next_has_severity_field()) and not is_severity_heading:
            area = self._area()
            self.headings.append((level, "findings"))  # its body is not an area
            hint = _file_hint(rest)
            self.current = _Draft(
                line=line_no,
                summary=_clean(_strip_hint(rest, hint)),
                severity=severity,
                area=area,
                file_hint=hint,
                id=ident,
                explicit=True,
            )
            self.heading_finding = True
            return
        self.headings.append((level, text))

    def _next_has_severity_field(self) -> bool:
        """A heading followed (before the next heading or bullet) by ``Severity:`` is a finding."""
        for raw in self.lines[self.cursor :]:
            if _HEADING.match(raw) or _TABLE_ROW.match(raw):
                return False
            bullet = _BULLET.match(raw)
            text = bullet.group(2) if bullet else raw
            match = _FIELD.match(text)
            if match and match["name"].casefold() in ("severity", "sev", "priority"):
                # "Severity: high" alone is a field; "Severity: low — the board…" a finding
                return bool(_maybe_severity(match["value"]))
            if bullet and not bullet.group(1) and not match:
                return False  # a list of findings under an area heading
        return False

    def _bullet(self, indent: int, text: str, line_no: int) -> None:
        field_match = _FIELD.match(text)
        if self.current is not None and (indent > self.current_indent or self.heading_finding):
            if field_match:
                self._field(self.current, field_match["name"], field_match["value"], line_no)
            else:
                self.current.details.append(_clean(text))
                if not self.current.file_hint:
                    self.current.file_hint = _file_hint(text)
            return
        self._close()
        ident, rest = _take_id(text)
        severity, rest = _take_lead_severity(rest)
        if not ident:
            ident, rest = _take_id(rest)
        inline, rest = _take_inline_severity(rest, line_no)
        severity = severity or inline
        hint = _file_hint(rest)
        self.current = _Draft(
            line=line_no,
            summary=_clean(_strip_hint(rest, hint)),
            severity=severity or self._heading_severity(),
            area=self._area(),
            file_hint=hint,
            id=ident,
            explicit=bool(severity),
        )
        self.current_indent = indent

    def _prose(self, raw: str, line_no: int) -> None:
        field_match = _FIELD.match(raw)
        if self.current is None:
            return
        if field_match:
            self._field(self.current, field_match["name"], field_match["value"], line_no)
            return
        text = _clean(raw)
        if self.heading_finding and not self.current.summary:
            self.current.summary = text
        else:
            self.current.details.append(text)
        if not self.current.file_hint:
            self.current.file_hint = _file_hint(raw)

    def _table(self, header_index: int) -> int:
        header = _split_row(self.lines[header_index])
        fields = [_column_field(cell) for cell in header]
        index = header_index + 2
        is_findings = "summary" in fields or ("details" in fields and "severity" in fields)
        while index < len(self.lines) and _TABLE_ROW.match(self.lines[index]):
            line_no = index + 1
            cells = _split_row(self.lines[index])
            index += 1
            if not is_findings:
                continue
            if len(cells) != len(header):
                raise SoftAuditError(
                    f"this table row has {len(cells)} cells, its header has {len(header)}",
                    line_no,
                )
            draft = _Draft(line=line_no, summary="", area=self._area(), explicit=True)
            for name, cell in zip(fields, cells, strict=True):
                if not cell:
                    continue
                if name == "summary" and not draft.summary:
                    draft.summary = _clean(cell)
                elif name in ("summary", "details"):
                    draft.details.append(_clean(cell))
                elif name == "severity":
                    draft.severity = severity_of(cell, line_no)
                elif name == "file_hint":
                    draft.file_hint = _file_hint(cell) or _clean(cell.strip("`"))
                elif name == "id":
                    draft.id = _clean(cell.strip("`"))
                elif name == "area":
                    draft.area = _clean(cell)
                elif name == "owner":
                    draft.owner = _clean(cell).lstrip("@")
            if not draft.summary and draft.details:
                draft.summary = draft.details.pop(0)
            if not draft.file_hint:
                draft.file_hint = _file_hint(draft.summary)
            if not draft.severity:
                draft.severity = self._heading_severity()
            self.drafts.append(draft)
        return index


def _stable_id(draft: _Draft) -> str:
    """An id from what the finding says, so re-reading the same document gives the same id
    (and an edit elsewhere in the document does not renumber it)."""
    text = "\n".join((draft.area.casefold(), draft.file_hint, draft.summary.casefold()))
    return "SA-" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8]


def parse_soft_audit(text: str, owners: Iterable[OwnerRule] = ()) -> list[Finding]:
    """The findings of a soft-audit document, in document order.

    Raises :class:`SoftAuditError` (with a line number) on an unknown severity,
    a ragged table row, a duplicate id or a document with no findings.
    """
    lines = text.splitlines()
    found = [
        draft
        for draft in _Reader(lines).read()
        if draft.summary and (draft.explicit or draft.severity or draft.file_hint)
    ]
    if not found:
        raise SoftAuditError(
            "no findings: write them as a table (Severity | Area | File | Finding), as "
            "bullets with a severity (- **[HIGH]** ...) or as headings (### [HIGH] ...)",
            1,
        )
    rules = list(owners)
    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for draft in found:
        ident = draft.id or _stable_id(draft)
        if ident in seen:
            if draft.id:
                raise SoftAuditError(
                    f"the finding id {ident} is used already on line {seen[ident]}", draft.line
                )
            ident = f"{ident}-{draft.line}"  # the same text twice: keep both, told apart
        seen[ident] = draft.line
        finding = Finding(
            id=ident,
            severity=draft.severity or "unknown",
            area=draft.area,
            file_hint=draft.file_hint,
            summary=draft.summary,
            line=draft.line,
            suggested_owner=draft.owner,
            details="\n".join(part for part in draft.details if part),
        )
        if not finding.suggested_owner:
            finding.suggested_owner = next(
                (rule.owner for rule in rules if rule.matches(finding)), ""
            )
        findings.append(finding)
    return findings


def findings_csv(findings: Iterable[Finding]) -> str:
    """The CSV of ``docs/audits/CODEX_SOFT_AUDIT_TASKS.csv`` (header + one row a finding)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for finding in findings:
        writer.writerow(finding.csv_row())
    return out.getvalue()


def gh_issue_commands(
    findings: Iterable[Finding], *, source: str, repo: str = "", labels: Sequence[str] = ()
) -> str:
    """A shell script of ``gh issue create`` commands, one a finding, every value quoted."""
    lines = ["#!/bin/sh", f"# gh issues for the findings of {source}; review, then run.", "set -e"]
    for finding in findings:
        body = [
            f"Soft-audit finding **{finding.id}** ({source}, line {finding.line}).",
            "",
            f"- Severity: {finding.severity}",
            f"- Area: {finding.area or 'unknown'}",
            f"- File: {finding.file_hint or 'unknown'}",
        ]
        if finding.suggested_owner:
            body.append(f"- Suggested owner: {finding.suggested_owner}")
        if finding.details:
            body += ["", finding.details]
        args = ["gh", "issue", "create"]
        if repo:
            args += ["--repo", repo]
        args += ["--title", f"[{finding.id}] {finding.summary}"[:256], "--body", "\n".join(body)]
        for label in (*labels, f"severity:{finding.severity}"):
            args += ["--label", label]
        lines.append(shlex.join(args))
    return "\n".join(lines) + "\n"


def owner_rules(mapping: dict[str, str]) -> list[OwnerRule]:
    """Rules from a ``{pattern: owner}`` mapping (a YAML file's contents), in its order."""
    return [OwnerRule(str(pattern), str(owner)) for pattern, owner in mapping.items()]

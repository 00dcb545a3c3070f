"""Read the markdown plans a LUKHAS team writes into tasks the coordination app can import.

Pure Python on purpose (no Django import): the import service, the ``import_plan``
command and the tests all call it, and a coordinator can check a plan without a
database. What markdown it understands, how task keys are derived and which
mistakes stop an import are written for coordinators in ``docs/plan-format.md``;
keep the two in step.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, NamedTuple

import ftfy
from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = [
    "PRIORITIES",
    "RISKS",
    "STATUSES",
    "AcceptanceItem",
    "ParsedPlan",
    "ParsedTask",
    "PlanParseError",
    "normalize_agent_name",
    "parse_estimate",
    "parse_plan",
    "parse_plan_bytes",
    "plan_to_dict",
    "repair_mojibake",
]

STATUSES = ("todo", "in_progress", "in_review", "blocked", "done", "cancelled")
PRIORITIES = ("critical", "high", "medium", "low")
RISKS = ("low", "medium", "high", "variable")


# --------------------------------------------------------------------------- public types


class PlanParseError(Exception):
    """A plan the importer cannot read safely; ``line`` (1-based) points at what to fix."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class AcceptanceItem(NamedTuple):
    """One acceptance criterion; a tuple so ``("text", False)`` compares equal to it."""

    text: str
    done: bool


@dataclass
class ParsedTask:
    """One task as the plan states it; empty strings mean "the plan does not say"."""

    key: str
    title: str
    track: str = ""
    owner: str = ""
    collaborators: list[str] = field(default_factory=list)
    reviewer: str = ""
    status: str = "todo"
    priority: str = ""
    risk: str = ""
    estimate_min_hours: float | None = None
    estimate_max_hours: float | None = None
    files: list[str] = field(default_factory=list)
    branch: str = ""
    requires_critical_review: bool = False
    acceptance: list[AcceptanceItem] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    notes: str = ""
    goal: str = ""
    source_line: int = 0


@dataclass
class ParsedPlan:
    """A whole plan: the tasks in document order plus what the coordinator should know."""

    title: str
    tasks: list[ParsedTask]
    tracks: list[str]
    warnings: list[str]
    checksum: str
    repaired_mojibake: bool
    source_name: str = ""
    coordinator: str = ""

    def task(self, key: str) -> ParsedTask:
        """The task with ``key``; KeyError names the key so a test failure reads well."""
        for task in self.tasks:
            if task.key == key:
                return task
        raise KeyError(key)


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


def plan_to_dict(plan: ParsedPlan) -> dict[str, Any]:
    """A JSON-serialisable view of a parsed plan (``import_plan --format json``)."""
    return {
        "title": plan.title,
        "source_name": plan.source_name,
        "checksum": plan.checksum,
        "repaired_mojibake": plan.repaired_mojibake,
        "coordinator": plan.coordinator,
        "tracks": list(plan.tracks),
        "warnings": list(plan.warnings),
        "tasks": [
            {
                "key": t.key,
                "title": t.title,
                "track": t.track,
                "owner": t.owner,
                "collaborators": list(t.collaborators),
                "reviewer": t.reviewer,
                "status": t.status,
                "priority": t.priority,
                "risk": t.risk,
                "estimate_min_hours": t.estimate_min_hours,
                "estimate_max_hours": t.estimate_max_hours,
                "files": list(t.files),
                "branch": t.branch,
                "requires_critical_review": t.requires_critical_review,
                "acceptance": [{"text": a.text, "done": a.done} for a in t.acceptance],
                "depends_on": list(t.depends_on),
                "notes": t.notes,
                "goal": t.goal,
                "source_line": t.source_line,
            }
            for t in plan.tasks
        ],
    }


# --------------------------------------------------------------------------- agent names

# Default alias keys; the coordination service maps keys to Agent rows and may add more.
_AGENT_ALIASES = {
    "chatgpt codex": "codex",
    "openai codex": "codex",
    "gpt codex": "codex",
    "codex cli": "codex",
    "codex agent": "codex",
    "github copilot": "copilot",
    "gh copilot": "copilot",
    "copilot agent": "copilot",
    "copilot chat": "copilot",
    "claudecode": "claude code",
    "claude code cli": "claude code",
    "anthropic claude code": "claude code",
    "google jules": "jules",
    "jules agent": "jules",
    "gemini cli": "gemini",
}

# Names recognised in headings ("Claude Code Execution Tasks") besides the plan's own.
_KNOWN_AGENTS = ("Claude Code", "Codex", "Copilot", "Jules", "Claude", "ChatGPT", "Gemini")


def normalize_agent_name(raw: str) -> str:
    """Reduce how a plan names an agent to a default alias key ('**@Codex**' -> 'codex')."""
    text = _plain(raw)
    text = re.sub(r"\([^)]*\)", " ", text)
    text = _strip_symbols(text).replace("@", " ").lower()
    text = re.sub(r"[\s_.\-]+", " ", text).strip()
    return _AGENT_ALIASES.get(text, text)


# --------------------------------------------------------------------------- estimates

_HOURS_PER_UNIT = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 1 / 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 1.0),
}
_NO_ESTIMATE = {"", "-", "\u2014", "\u2013", "?", "tbd", "tba", "n/a", "na", "none", "unknown"}
_AMOUNT = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]*)")


def parse_estimate(text: str) -> tuple[float | None, float | None]:
    """'2-3h', '2\u20134 Hour', '30min', '1h 30min' -> (min_hours, max_hours); '' or 'TBD' -> None.

    Raises ValueError for anything else (days included: a working day is not a fixed
    number of hours, so the plan has to say hours).
    """
    value = re.sub(r"\([^)]*\)", " ", _plain(text)).lower()
    value = re.sub(r"^(?:~|≈|about|approx\.?|approximately|est\.?)\s*", "", value.strip())
    if value.strip() in _NO_ESTIMATE:
        return None, None
    parts = re.split(r"\s*(?:-|\u2013|\u2014|\bto\b)\s*", value.strip())
    if len(parts) > 2 or not all(parts):
        raise ValueError(f"cannot read estimate {text.strip()!r}")
    amounts = [_amounts(part, text) for part in parts]
    if len(amounts) == 2 and len(amounts[0]) == 1 and not amounts[0][0][1]:
        amounts[0] = [(amounts[0][0][0], amounts[1][-1][1])]  # "2-3h": the 2 is hours too
    hours = [_to_hours(amount, text) for amount in amounts]
    low, high = hours[0], hours[-1]
    if low > high:
        raise ValueError(f"estimate {text.strip()!r} runs backwards")
    return round(low, 4), round(high, 4)


def _amounts(part: str, original: str) -> list[tuple[float, str]]:
    if not part or _AMOUNT.sub("", part).strip():
        raise ValueError(f"cannot read estimate {original.strip()!r}")
    return [(float(num.replace(",", ".")), unit) for num, unit in _AMOUNT.findall(part)]


def _to_hours(amounts: list[tuple[float, str]], original: str) -> float:
    total = 0.0
    for number, unit in amounts:
        if not unit:
            raise ValueError(f"estimate {original.strip()!r} has no unit (write h or min)")
        if unit not in _HOURS_PER_UNIT:
            raise ValueError(f"estimate {original.strip()!r}: unit {unit!r} is not hours/minutes")
        total += number * _HOURS_PER_UNIT[unit]
    return total


# --------------------------------------------------------------------------- mojibake

# Writing UTF-8 through Windows-1254/1252 turns "🎯" into "ğŸ¯" and silently drops
# the bytes those code pages leave undefined; ftfy cannot know which byte went missing.
_LOST_BYTES = (
    ("cp1254", bytes((0x81, 0x8D, 0x8E, 0x8F, 0x90, 0x9D, 0x9E))),
    ("cp1252", bytes((0x81, 0x8D, 0x8F, 0x90, 0x9D))),
)
# When a byte was lost we pick, in this order, what plans actually use: the emoji
# variation selector, the closing quote (its last byte 0x9D is one that gets lost), emoji.
_LIKELY_CHARS = (
    "\ufe0f\u201d✅❌🎯📋📊📝🔍🛡⚛⚖🧪🔄🚨🔗📌📍🔎📎📁🔧🔨🛠🧠🚀🔥💡⏱⏳🔒🔑🔐🌱🌙🔬🐛📦🏁⭐✨🟢🟡🔴"
    "🟠🔵✔☑👉👀🤖📈📉📅🗂🏗⚙🧩🎉💬📚📖🧹🧭🌐⚡🛑⛔👥👤🏷💾🖥🗺🔀"
)
_MOJIBAKE_CHARS = "".join(
    sorted(
        {
            bytes((b,)).decode(codec, errors="ignore")
            for codec, _ in _LOST_BYTES
            for b in range(0x80, 0x100)
        }
        - {""}
    )
)
_MOJIBAKE_RUN = re.compile(f"[{re.escape(_MOJIBAKE_CHARS)}]+")
_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,  # curly quotes in a clean plan are the author's, not damage
    fix_line_breaks=False,  # line numbers must keep pointing at the original file
    remove_control_chars=False,
    normalization=None,
)


def repair_mojibake(text: str) -> tuple[str, list[int]]:
    """Undo UTF-8 read as Windows-125x ('â€”' -> '—', 'ğŸ¯' -> '🎯'), line by line.

    Returns the repaired text and the 1-based lines that changed; the number of lines
    never changes so every line number still points into the original file.
    """
    lines = text.split("\n")
    changed = []
    for index, line in enumerate(lines):
        fixed = _repair_line(line)
        if fixed != line:
            lines[index] = fixed
            changed.append(index + 1)
    return "\n".join(lines), changed


def _repair_line(line: str) -> str:
    if line.isascii():
        return line
    # '”' uncurled to '"' after the damage: 'â€"' was an em dash.
    fixed = line.replace('â€"', "\u2014")
    fixed = _MOJIBAKE_RUN.sub(_restore_lost_bytes, fixed)
    fixed = ftfy.fix_text(fixed, _FTFY_CONFIG)
    return line if "\n" in fixed else fixed


def _restore_lost_bytes(match: re.Match[str]) -> str:
    run = match.group(0)
    for codec, lost in _LOST_BYTES:
        try:
            data = run.encode(codec)
        except UnicodeEncodeError:
            continue
        try:
            data.decode("utf-8")
            return run  # complete sequences: ftfy's job
        except UnicodeDecodeError:
            pass
        restored = _fill_lost_bytes(data, lost)
        if restored is not None:
            return restored
    return run


def _fill_lost_bytes(data: bytes, lost: bytes) -> str | None:
    out: list[str] = []
    repaired = False
    i = 0
    while i < len(data):
        lead = data[i]
        need = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4
        if not 0xC2 <= lead <= 0xF4:
            return None
        j = i + 1
        while j < len(data) and j - i < need and 0x80 <= data[j] <= 0xBF:
            j += 1
        seq = data[i:j]
        if len(seq) == need:
            try:
                out.append(seq.decode("utf-8"))
            except UnicodeDecodeError:
                return None
        elif len(seq) == need - 1:
            best: tuple[int, str] | None = None
            for pos in range(1, need):
                for byte in lost:
                    try:
                        char = (seq[:pos] + bytes((byte,)) + seq[pos:]).decode("utf-8")
                    except UnicodeDecodeError:
                        continue
                    rank = _LIKELY_CHARS.find(char)
                    if rank >= 0 and (best is None or rank < best[0]):
                        best = (rank, char)
            if best is None:
                return None
            out.append(best[1])
            repaired = True
        else:
            return None
        i = j
    return "".join(out) if repaired else None


# --------------------------------------------------------------------------- inline text

_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?![\s*_])(.+?)(?<![\s*_])\1(?![\w*])")
_STRIKE = re.compile(r"~~(.+?)~~")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def _plain(markdown: str, *, keep_code: bool = False) -> str:
    """Inline markdown -> text: markup gone, code spans kept as `x` only if asked."""
    pieces = []
    for index, piece in enumerate(re.split(r"(`+[^`]+?`+)", markdown)):
        if index % 2:
            pieces.append(piece if keep_code else _CODE_SPAN.sub(r"\2", piece))
            continue
        piece = _LINK.sub(r"\1", piece)
        for pattern in (_BOLD, _BOLD, _STRIKE):
            piece = pattern.sub(lambda m: m.group(m.lastindex or 1), piece)
        piece = _EMPHASIS.sub(r"\2", piece)
        pieces.append(_HTML_TAG.sub("", piece).replace("\\|", "|"))
    return " ".join("".join(pieces).split())


def _strip_symbols(text: str) -> str:
    """Drop emoji and pictographs ('✅', '🎯'), which decorate titles but name nothing."""
    kept = [
        ch
        for ch in text
        if unicodedata.category(ch) != "So"
        and ch not in "\ufe0e\ufe0f\u200d"
        and not 0x1F3FB <= ord(ch) <= 0x1F3FF
    ]
    return " ".join("".join(kept).split())


def _clean_title(markdown: str) -> str:
    return _strip_symbols(_plain(markdown)).strip(" :-\u2013\u2014")


def _slug(text: str, max_len: int = 40) -> str:
    """Readable key part: ascii words, parentheticals dropped ('Pin & lock' -> 'pin-lock')."""
    text = re.sub(r"\([^)]*\)", " ", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len and slug:
            break
        slug = candidate
    return slug


def _split_top(text: str, separators: str) -> list[str]:
    """Split on separators that sit outside backticks and parentheses."""
    parts, current, depth, in_code = [], [], 0, False
    for ch in text:
        if ch == "`":
            in_code = not in_code
        elif not in_code and ch == "(":
            depth += 1
        elif not in_code and ch == ")":
            depth = max(depth - 1, 0)
        elif not in_code and depth == 0 and ch in separators:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def _split_row(line: str) -> list[str]:
    """Cells of a pipe-table row; '\\|' and pipes inside backticks stay in their cell."""
    row = line.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    cells, current, in_code, escaped = [], [], False, False
    for ch in row:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == "`":
            in_code = not in_code
            current.append(ch)
        elif ch == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    cells.append("".join(current).strip())
    return cells


# --------------------------------------------------------------------------- field values

_PRIORITY_WORDS = {
    **dict.fromkeys(("critical", "crit", "blocker", "urgent", "highest", "p0"), "critical"),
    **dict.fromkeys(("high", "p1"), "high"),
    **dict.fromkeys(("medium", "med", "normal", "moderate", "p2"), "medium"),
    **dict.fromkeys(("low", "lowest", "minor", "p3", "p4"), "low"),
}
_RISK_WORDS = {
    "low": "low",
    "medium": "medium",
    "med": "medium",
    "moderate": "medium",
    "high": "high",
    "variable": "variable",
    "varies": "variable",
    "mixed": "variable",
}
_STATUS_PATTERNS = (
    (re.compile(r"cancel|dropped|won'?t do|obsolete"), "cancelled"),
    (re.compile(r"block|stuck|waiting"), "blocked"),
    (re.compile(r"review"), "in_review"),
    (re.compile(r"progress|wip|doing|started|ongoing|active"), "in_progress"),
    (re.compile(r"done|complete|merged|shipped|finished|closed|✅"), "done"),
    (re.compile(r"todo|to do|not started|pending|open|planned|backlog|new"), "todo"),
)
_CHECKBOX = re.compile(r"^\[( |x|X|~|/|-)\]\s+")
_CHECKBOX_STATUS = {
    " ": "todo",
    "x": "done",
    "X": "done",
    "~": "in_progress",
    "/": "in_progress",
    "-": "cancelled",
}


def _priority(value: str) -> str | None:
    for word in re.findall(r"[a-z0-9]+", _plain(value).lower()):
        if word in _PRIORITY_WORDS:
            return _PRIORITY_WORDS[word]
    return None


def _risk(value: str) -> str | None:
    found = [
        _RISK_WORDS[w] for w in re.findall(r"[a-z]+", _plain(value).lower()) if w in _RISK_WORDS
    ]
    graded = [r for r in found if r != "variable"]
    if graded:  # "LOW-MEDIUM": plan for the worse one
        return max(graded, key=("low", "medium", "high").index)
    return found[0] if found else None


def _status(value: str) -> str | None:
    text = _plain(value).lower()
    for pattern, status in _STATUS_PATTERNS:
        if pattern.search(text):
            return status
    return None


def _files(value: str) -> list[str]:
    """File names from a cell or list item: the first `backticked` name of each part."""
    found = []
    for part in _split_top(value, ",;"):
        code = _CODE_SPAN.search(part)
        if code:
            found.append(code.group(2).strip())
        else:
            plain = _plain(part)
            if plain and " " not in plain and plain not in _NO_ESTIMATE:
                found.append(plain)
    return found


def _people(value: str) -> tuple[str, list[str]]:
    """'**Codex** + Copilot' -> ('Codex', ['Copilot']); '(primary)' or bold marks the owner."""
    names: list[tuple[str, bool, str]] = []  # (name, bold, role)
    for part in _split_top(re.sub(r"\s+and\s+", ",", value), ",+&;/"):
        role = " ".join(re.findall(r"\(([^)]*)\)", part)).lower()
        name = _strip_symbols(_plain(re.sub(r"\([^)]*\)", " ", part)).replace("@", ""))
        if name and name.lower() not in {"-", "—", "tbd", "none", "n/a", "unassigned", "anyone"}:
            names.append((name, part.lstrip().startswith(("**", "__")), role))
    if not names:
        return "", []
    owner_index = next(
        (i for i, (_, _, role) in enumerate(names) if re.search(r"primary|owner|lead", role)),
        None,
    )
    if owner_index is None:
        bold = [i for i, (_, is_bold, _) in enumerate(names) if is_bold]
        owner_index = bold[0] if len(bold) == 1 else 0
    owner = names[owner_index][0]
    collaborators: list[str] = []
    for i, (name, _, _) in enumerate(names):
        if i != owner_index and name not in collaborators and name != owner:
            collaborators.append(name)
    return owner, collaborators


# --------------------------------------------------------------------------- fields

# "**Label**: value", "**Label:** value", or a bare "Agents: value" for the common labels.
_FIELD = re.compile(
    r"^\s*(?:\*\*(?P<a>[^*]+?)\*\*\s*:|\*\*(?P<b>[^*]+?):\*\*|"
    r"(?P<c>Owners?|Agents?|Assignee|Reviewer|Goals?|Risk|Priority|Time|Estimate|Branch|"
    r"Status|Files|Depends on|Dependencies|Blocked by|Accept|Acceptance|DoD)\s*:)\s*(?P<value>.*)$",
    re.IGNORECASE,
)
_LABELS = {
    **dict.fromkeys(
        ("owner", "owners", "assignee", "assigned to", "agent", "agents", "lead"), "owner"
    ),
    **dict.fromkeys(("collaborators", "collaborator", "support", "helpers"), "collaborators"),
    **dict.fromkeys(("reviewer", "reviewers", "review by", "reviewed by"), "reviewer"),
    **dict.fromkeys(("goal", "goals", "objective", "objectives"), "goal"),
    **dict.fromkeys(("time", "estimate", "effort", "eta", "duration"), "time"),
    **dict.fromkeys(("files", "file", "files to review", "files to change", "paths"), "files"),
    **dict.fromkeys(("depends on", "dependencies", "blocked by", "after", "needs"), "depends"),
    **dict.fromkeys(
        ("accept", "acceptance", "acceptance criteria", "dod", "definition of done", "done when"),
        "accept",
    ),
    "risk": "risk",
    "priority": "priority",
    "branch": "branch",
    "status": "status",
    "track": "track",
    "notes": "notes",
    "note": "notes",
}


class _Field(NamedTuple):
    kind: str  # a value of _LABELS, or "other"
    label: str  # as written, for notes
    value: str


def _field(line: str) -> _Field | None:
    match = _FIELD.match(line)
    if not match:
        return None
    label = (match.group("a") or match.group("b") or match.group("c")).strip()
    key = re.sub(r"\([^)]*\)", " ", label.lower())
    key = " ".join(key.strip(" :").split())
    kind = _LABELS.get(key) or ("accept" if "criteria" in key else "other")
    return _Field(kind, label.strip(" :"), match.group("value").strip())


# --------------------------------------------------------------------------- dependencies

_REF = r"(?:#\d+\b|\d+\b|[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b)"
_DEPENDENCY = re.compile(
    r"(?i:\b(?:depends\s+on|depending\s+on|dependent\s+on|blocked\s+by|waits?\s+(?:for|on)|"
    r"after|post|requires|needs))[\s-]+(?P<task>(?i:(?:the\s+)?tasks?\s+))?"
    rf"(?P<refs>{_REF}(?:\s*(?:,|&|\+|(?i:and))\s*{_REF})*)"
)
_TASK_MENTION = re.compile(rf"\bTasks?\s+(?P<refs>{_REF}(?:\s*(?:,|&|(?i:and))\s*{_REF})*)")
_BOLD_KEY_START = re.compile(rf"^\*\*(?P<ref>{_REF})\*\*")
_KEY_LIKE = re.compile(r"#\d+|[A-Za-z]+-\d[\w-]*|[A-Z]+\d+[\w-]*")
_BY_NAME = re.compile(r"\b(?:by|from)\s+(?P<name>[A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)")


def _warning_line(warning: str) -> int:
    """Warnings read top to bottom, like the plan they are about."""
    match = re.match(r"line (\d+):", warning)
    return int(match.group(1)) if match else 0


def _refs(text: str) -> list[str]:
    return re.findall(_REF, text)


# --------------------------------------------------------------------------- markdown blocks


@dataclass
class _Block:
    """A block of the markdown tree with its 1-based line span, from markdown-it tokens."""

    kind: str  # heading, paragraph, list, item, table, code, hr, html
    line: int
    end: int
    text: str = ""
    level: int = 0
    children: list[_Block] = field(default_factory=list)

    @property
    def item_text(self) -> str:
        first = self.children[0] if self.children else None
        return first.text if first is not None and first.kind == "paragraph" else ""


@dataclass
class _Section:
    """The blocks under one heading, and the deeper headings inside it."""

    level: int
    heading: str
    line: int
    parent: _Section | None = None
    blocks: list[_Block] = field(default_factory=list)
    children: list[_Section] = field(default_factory=list)

    @property
    def title(self) -> str:
        return _clean_title(self.heading)

    @property
    def track_name(self) -> str:
        """The heading without its enumerator: '1) Registry (Day 0)' -> 'Registry (Day 0)'."""
        return re.sub(r"^\d+(?:\.\d+)*[.)]\s+", "", self.title)

    @property
    def enumerator(self) -> str:
        """The number the author gave the section: '1) Registry' -> '1', 'Phase 2' -> 'phase-2'."""
        match = re.match(r"^(\d+(?:\.\d+)*)[.):]?\s", self.title)
        if match:
            return match.group(1)
        match = re.match(
            r"^(phase|step|part|stage|sprint|week|day|track|section|wave)\s+(\w+)\b",
            self.title,
            re.IGNORECASE,
        )
        return f"{match.group(1).lower()}-{match.group(2).lower()}" if match else ""

    @property
    def key_prefix(self) -> str:
        """First part of derived keys: the enumerator, else a short slug of the heading."""
        return self.enumerator or _slug(self.track_name, max_len=24)


_BLOCK_KINDS = {
    "heading_open": "heading",
    "paragraph_open": "paragraph",
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "list_item_open": "item",
    "table_open": "table",
}
_LEAF_KINDS = {"fence": "code", "code_block": "code", "hr": "hr", "html_block": "html"}


def _build_blocks(tokens: list[Token]) -> list[_Block]:
    root = _Block("root", 0, 0)
    stack = [root]
    for token in tokens:
        top = stack[-1]
        if top.kind == "table":  # its cells are re-read from the raw lines
            if token.type == "table_close":
                stack.pop()
            continue
        if token.nesting == 1:
            kind = _BLOCK_KINDS.get(token.type)
            if kind is None or token.map is None:  # blockquote: keep its content in place
                stack.append(top)
                continue
            level = int(token.tag[1]) if kind == "heading" else 0
            block = _Block(kind, token.map[0] + 1, token.map[1], level=level)
            top.children.append(block)
            stack.append(block)
        elif token.nesting == -1:
            stack.pop()
        elif token.type == "inline":
            top.text = token.content
        elif token.type in _LEAF_KINDS and token.map:
            top.children.append(_Block(_LEAF_KINDS[token.type], token.map[0] + 1, token.map[1]))
    return root.children


def _build_sections(blocks: list[_Block]) -> _Section:
    root = _Section(level=0, heading="", line=1)
    stack = [root]
    for block in blocks:
        if block.kind == "heading":
            while stack[-1].level >= block.level:
                stack.pop()
            section = _Section(block.level, block.text, block.line, parent=stack[-1])
            stack[-1].children.append(section)
            stack.append(section)
        else:
            stack[-1].blocks.append(block)
    return root


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


class _PlanReader:
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

    # ----------------------------------------------------------------- task bodies

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

    @staticmethod
    def _differs(name: str, mine: str, theirs: str) -> bool:
        if name in ("owner", "reviewer"):
            return normalize_agent_name(mine) != normalize_agent_name(theirs)
        if name in ("goal",):
            return _plain(mine).lower() != _plain(theirs).lower()
        return mine != theirs

    # ----------------------------------------------------------------- after reading

    def _resolve_reviewer(self, name: str) -> str:
        """'Claude' in a 'Claude Role' column is the coordinator 'Claude Code' when there is one."""
        if self.coordinator and name:
            mine, theirs = normalize_agent_name(name), normalize_agent_name(self.coordinator)
            if theirs == mine or theirs.startswith(mine + " "):
                return self.coordinator
        return name

    def _known_agents(self) -> list[str]:
        names = list(_KNOWN_AGENTS)
        if self.coordinator:
            names.append(self.coordinator)
        for task in self.tasks.values():
            names.extend(n for n in (task.owner, task.reviewer, *task.collaborators) if n)
        return sorted(set(names), key=lambda n: (-len(n), n))

    def _agent_in(self, text: str) -> str:
        for name in self.agent_names:
            match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
            if match:
                return match.group(0)
        return ""

    def _assign_owners_from_headings(self) -> None:
        """'Claude Code Execution Tasks' owns its tasks; the plan title never does."""
        unassigned: dict[str, list[str]] = {}
        for task in self.tasks.values():
            if task.owner:
                continue
            for heading in self.chains.get(task.key, []):
                name = self._agent_in(heading)
                if name:
                    task.owner = name
                    break
            else:
                unassigned.setdefault(task.track, []).append(task.key)
        for track, keys in unassigned.items():
            first = min(self.tasks[k].source_line for k in keys)
            where = f"under {track!r}" if track else "outside any section"
            self.warnings.append(
                f"line {first}: no owner for {len(keys)} task(s) {where} "
                f"(no Owner column, Owner/Agents line or agent in a heading): {', '.join(keys)}"
            )

    def _scan_dependencies(self, key: str, text: str, line: int) -> None:
        prose = _CODE_SPAN.sub(" ", text)
        for match in _DEPENDENCY.finditer(prose):
            explicit = bool(match.group("task"))
            for ref in _refs(match.group("refs")):
                if explicit or _KEY_LIKE.fullmatch(ref):
                    self.dep_refs.setdefault(key, []).append((ref, line, explicit))

    def _add_refs(self, key: str, text: str, line: int, *, explicit: bool) -> None:
        for ref in _refs(_CODE_SPAN.sub(r"\2", _plain(text))):
            if ref.lower() not in ("task", "tasks", "and"):
                self.dep_refs.setdefault(key, []).append((ref, line, explicit))

    def _resolve_ref(self, ref: str) -> str | None:
        if ref in self.tasks:
            return ref
        if ref.isdigit() and f"#{ref}" in self.tasks:
            return f"#{ref}"
        return self.keys_by_lowercase.get(ref.lower())

    def _resolve_dependencies(self) -> None:
        for key, refs in self.dep_refs.items():
            task = self.tasks.get(key)
            if task is None:
                continue
            for ref, line, explicit in refs:
                target = self._resolve_ref(ref)
                if target is None:
                    if explicit:
                        self.warnings.append(
                            f"line {line}: task {key} depends on {ref!r}, "
                            "which this plan does not define"
                        )
                elif target != key and target not in task.depends_on:
                    task.depends_on.append(target)

    def _mark_critical(self, key: str, reviewer: str, line: int) -> None:
        task = self.tasks[key]
        task.requires_critical_review = True
        reviewer = self._resolve_reviewer(reviewer)
        if not task.reviewer:
            task.reviewer = reviewer
        elif reviewer and self._differs("reviewer", task.reviewer, reviewer):
            self.warnings.append(
                f"line {line}: task {key} is reviewed by {task.reviewer!r}; "
                f"ignoring critical reviewer {reviewer!r}"
            )

    def _mark_critical_reviews(self) -> None:
        """Every way these plans ask for a critical review, besides the table column."""
        prefixes: list[tuple[str, str, int]] = []
        for text, line, chain in self.prose:
            plain = _plain(text, keep_code=True)
            lowered = plain.lower()
            in_gate = bool(chain) and "critical review" in chain[0].lower()
            says = "critical review" in lowered
            if not (in_gate or says):
                continue
            reviewer = ""
            if says:  # "**CRITICAL REVIEW by Claude**"
                by = _BY_NAME.search(plain, lowered.find("critical review"))
                reviewer = by.group("name") if by else ""
            if not reviewer and in_gate:
                reviewer = self._agent_in(chain[0]) or self._agent_in(plain)
            reviewer = reviewer or self.coordinator
            refs = [r for m in _TASK_MENTION.finditer(text) for r in _refs(m.group("refs"))]
            start = _BOLD_KEY_START.match(text.strip())
            if start:
                refs.append(start.group("ref"))
            keys = [k for k in (self._resolve_ref(r) for r in refs) if k]
            for key in dict.fromkeys(keys):
                self._mark_critical(key, reviewer, line)
            if in_gate and not keys:
                for code in _CODE_SPAN.finditer(text):
                    if code.group(2).endswith("/"):
                        prefixes.append((code.group(2), reviewer, line))
        for task in list(self.tasks.values()):
            for prefix, reviewer, line in prefixes:
                owner_reviews = normalize_agent_name(task.owner) == normalize_agent_name(
                    self._resolve_reviewer(reviewer)
                )
                if not owner_reviews and any(f.startswith(prefix) for f in task.files):
                    self._mark_critical(task.key, reviewer, line)
            if "critical review" in task.title.lower():  # a review task gates what it follows
                for key in task.depends_on:
                    self._mark_critical(key, task.owner or self.coordinator, task.source_line)

    def _settle_statuses(self) -> None:
        for task in self.tasks.values():
            if task.status:
                continue
            states = self.checkbox_states.get(task.key, [])
            if states and all(states):
                task.status = "done"
            elif any(states):
                task.status = "in_progress"
            else:
                task.status = "todo"

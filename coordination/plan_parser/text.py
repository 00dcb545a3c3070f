"""Plan text, cell by cell: agent names, estimates, mojibake repair, inline markdown, field values.

Every helper here reads one string; nothing here knows about sections or tasks.
The other modules of the parser share this vocabulary, so its names are public.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import NamedTuple

import ftfy

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
KNOWN_AGENTS = ("Claude Code", "Codex", "Copilot", "Jules", "Claude", "ChatGPT", "Gemini")


def normalize_agent_name(raw: str) -> str:
    """Reduce how a plan names an agent to a default alias key ('**@Codex**' -> 'codex')."""
    text = plain_text(raw)
    text = re.sub(r"\([^)]*\)", " ", text)
    text = strip_symbols(text).replace("@", " ").lower()
    text = re.sub(r"[\s_.\-]+", " ", text).strip()
    return _AGENT_ALIASES.get(text, text)


# --------------------------------------------------------------------------- estimates

_HOURS_PER_UNIT = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 1 / 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 1.0),
}
# Days are not hours: a prose "~2 days" is read as 8 h working days and listed as an
# inference by the caller (parse_estimate itself still refuses days in a field).
HOURS_PER_DAY = 8.0
PROSE_ESTIMATE = re.compile(
    r"(?<![\w.])(?P<approx>~|≈|about\s+|approx\.?\s*)?"
    r"(?P<low>\d+(?:\.\d+)?)(?:\s*(?:-|\u2013|to)\s*(?P<high>\d+(?:\.\d+)?))?\s*"
    r"(?P<unit>h|hrs?|hours?|min|mins|minutes?|days?)\b",
    re.IGNORECASE,
)


def prose_estimate(text: str) -> tuple[float, float, bool] | None:
    """'2-3h', '30min', '(1 hour)', '~2 days' in running text -> (low, high, in_days)."""
    match = PROSE_ESTIMATE.search(plain_text(text))
    if not match:
        return None
    unit = match.group("unit").lower()
    days = unit.startswith("day")
    factor = HOURS_PER_DAY if days else _HOURS_PER_UNIT.get(unit, 1 / 60)
    low = float(match.group("low")) * factor
    high = float(match.group("high") or match.group("low")) * factor
    return round(low, 4), round(high, 4), days


NO_ESTIMATE = {"", "-", "\u2014", "\u2013", "?", "tbd", "tba", "n/a", "na", "none", "unknown"}
_AMOUNT = re.compile(r"(\d+(?:[.,]\d+)?)\s*([a-z]*)")


def parse_estimate(text: str) -> tuple[float | None, float | None]:
    """'2-3h', '2\u20134 Hour', '30min', '1h 30min' -> (min_hours, max_hours); '' or 'TBD' -> None.

    Raises ValueError for anything else (days included: a working day is not a fixed
    number of hours, so the plan has to say hours).
    """
    value = re.sub(r"\([^)]*\)", " ", plain_text(text)).lower()
    value = re.sub(r"^(?:~|≈|about|approx\.?|approximately|est\.?)\s*", "", value.strip())
    if value.strip() in NO_ESTIMATE:
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
    if _C1_CONTROL.search(fixed):  # read as Latin-1: the C1 bytes are still there, ftfy's case
        fixed = ftfy.fix_text(fixed, _FTFY_CONFIG)
    fixed = _MOJIBAKE_RUN.sub(_restore_lost_bytes, fixed)
    fixed = ftfy.fix_text(fixed, _FTFY_CONFIG)
    # ftfy wants more evidence for Mac Roman than one mis-read emoji gives; a run that
    # re-encodes to valid UTF-8 through Mac Roman is that damage (see _repair_mac_roman).
    fixed = _NON_ASCII_RUN.sub(_repair_mac_roman, fixed)
    return line if "\n" in fixed else fixed


_C1_CONTROL = re.compile("[\x80-\x9f]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")


def _utf8_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _repair_mac_roman(match: re.Match[str]) -> str:
    """UTF-8 read as Mac Roman (U+201A U+00FA U+00C5 for ✅), one whole sequence at a time.

    Every character of the run maps to one Mac Roman byte; a byte that starts a UTF-8
    sequence whose continuation bytes follow and decode is replaced, anything else stays
    as written (so 'café' or '—' alone are never touched).
    """
    return _repair_mac_roman_partial(match.group(0))


def _repair_mac_roman_partial(run: str) -> str:
    pieces: list[str] = []
    chunk = ""
    for char in run:
        try:
            char.encode("mac_roman")
            chunk += char
        except UnicodeEncodeError:
            pieces.append(_decode_sequences(chunk, [c.encode("mac_roman")[0] for c in chunk]))
            pieces.append(char)
            chunk = ""
    pieces.append(_decode_sequences(chunk, [c.encode("mac_roman")[0] for c in chunk]))
    return "".join(pieces)


def _decode_sequences(run: str, data: list[int]) -> str:
    out: list[str] = []
    i = 0
    while i < len(data):
        need = _utf8_length(data[i])
        if need and i + need <= len(data):
            try:
                out.append(bytes(data[i : i + need]).decode("utf-8"))
                i += need
                continue
            except UnicodeDecodeError:
                pass
        if data[i] == 0x9F and i + 3 <= len(data):
            # 'üìã': the emoji's lead byte 0xF0 is Mac Roman's Apple logo (U+F8FF), which
            # most fonts and tools drop; restored only when the result is an emoji.
            try:
                char = bytes((0xF0, *data[i : i + 3])).decode("utf-8")
            except UnicodeDecodeError:
                char = ""
            if char and 0x1F000 <= ord(char) <= 0x1FAFF:
                out.append(char)
                i += 3
                continue
        out.append(run[i])
        i += 1
    return "".join(out)


# A lead byte and a continuation byte, as Windows-1252 or Mac Roman shows them: what a
# line still holds when its mojibake could not be repaired with confidence.
def looks_mis_encoded(line: str) -> bool:
    """Whether a line still shows undecoded UTF-8 (U+201A U+00C4, Ã© left over)."""
    if _C1_CONTROL.search(line):
        return True
    for match in _NON_ASCII_RUN.finditer(line):
        for codec in ("cp1252", "mac_roman"):
            try:
                data = match.group(0).encode(codec)
            except UnicodeEncodeError:
                continue
            for first, second in itertools.pairwise(data):
                if _utf8_length(first) and 0x80 <= second <= 0xBF:
                    return True
    return False


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

CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?![\s*_])(.+?)(?<![\s*_])\1(?![\w*])")
STRIKE = re.compile(r"~~(.+?)~~")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def plain_text(markdown: str, *, keep_code: bool = False) -> str:
    """Inline markdown -> text: markup gone, code spans kept as `x` only if asked."""
    pieces = []
    for index, piece in enumerate(re.split(r"(`+[^`]+?`+)", markdown)):
        if index % 2:
            pieces.append(piece if keep_code else CODE_SPAN.sub(r"\2", piece))
            continue
        piece = _LINK.sub(r"\1", piece)
        for pattern in (_BOLD, _BOLD, STRIKE):
            piece = pattern.sub(lambda m: m.group(m.lastindex or 1), piece)
        piece = _EMPHASIS.sub(r"\2", piece)
        pieces.append(_HTML_TAG.sub("", piece).replace("\\|", "|"))
    return " ".join("".join(pieces).split())


def strip_symbols(text: str) -> str:
    """Drop emoji and pictographs ('✅', '🎯'), which decorate titles but name nothing."""
    kept = [
        ch
        for ch in text
        if unicodedata.category(ch) != "So"
        and ch not in "\ufe0e\ufe0f\u200d"
        and not 0x1F3FB <= ord(ch) <= 0x1F3FF
    ]
    return " ".join("".join(kept).split())


def clean_title(markdown: str) -> str:
    return strip_symbols(plain_text(markdown)).strip(" :-\u2013\u2014")


def slugify(text: str, max_len: int = 40) -> str:
    """Readable key part: ascii words, parentheticals dropped ('Pin & lock' -> 'pin-lock')."""
    text = re.sub(r"\([^)]*\)", " ", text)
    text = _NON_ASCII_RUN.sub(lambda m: " " if looks_mis_encoded(m.group(0)) else m.group(0), text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_len and slug:
            break
        slug = candidate
    return slug


def split_top(text: str, separators: str) -> list[str]:
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


def split_row(line: str) -> list[str]:
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
CHECKBOX = re.compile(r"^\[( |x|X|~|/|-)\]\s+")
CHECKBOX_STATUS = {
    " ": "todo",
    "x": "done",
    "X": "done",
    "~": "in_progress",
    "/": "in_progress",
    "-": "cancelled",
}


# "(CRITICAL)", "HIGH", "P1" in a title: a badge only in capitals or in parentheses.
PRIORITY_BADGE = re.compile(
    r"\((?P<word>(?i:critical|high|medium|low|p[0-4]))\)|"
    r"(?<![\w-])(?P<bare>CRITICAL|HIGH|P[0-4])(?![\w-])"
)


def priority_of(value: str) -> str | None:
    for word in re.findall(r"[a-z0-9]+", plain_text(value).lower()):
        if word in _PRIORITY_WORDS:
            return _PRIORITY_WORDS[word]
    return None


def risk_of(value: str) -> str | None:
    found = [
        _RISK_WORDS[w] for w in re.findall(r"[a-z]+", plain_text(value).lower()) if w in _RISK_WORDS
    ]
    graded = [r for r in found if r != "variable"]
    if graded:  # "LOW-MEDIUM": plan for the worse one
        return max(graded, key=("low", "medium", "high").index)
    return found[0] if found else None


def status_of(value: str) -> str | None:
    text = plain_text(value).lower()
    for pattern, status in _STATUS_PATTERNS:
        if pattern.search(text):
            return status
    return None


def file_names(value: str) -> list[str]:
    """File names from a cell or list item: the first `backticked` name of each part."""
    found = []
    for part in split_top(value, ",;"):
        code = CODE_SPAN.search(part)
        if code:
            found.append(code.group(2).strip())
        else:
            plain = plain_text(part)
            if plain and " " not in plain and plain not in NO_ESTIMATE:
                found.append(plain)
    return found


def people(value: str) -> tuple[str, list[str]]:
    """'**Codex** + Copilot' -> ('Codex', ['Copilot']); '(primary)' or bold marks the owner."""
    names: list[tuple[str, bool, str]] = []  # (name, bold, role)
    for part in split_top(re.sub(r"\s+and\s+", ",", value), ",+&;/"):
        role = " ".join(re.findall(r"\(([^)]*)\)", part)).lower()
        name = strip_symbols(plain_text(re.sub(r"\([^)]*\)", " ", part)).replace("@", ""))
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
    r"Status|Files|Depends on|Dependencies|Blocked by|Blocks|Accept(?:ance)?(?: criteria)?|"
    r"Done when|DoD)\s*:)"
    r"\s*(?P<value>.*)$",
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
    **dict.fromkeys(("blocks", "unblocks"), "blocks"),
    "risk": "risk",
    "priority": "priority",
    "branch": "branch",
    "status": "status",
    "track": "track",
    "notes": "notes",
    "note": "notes",
}


class Field(NamedTuple):
    kind: str  # a value of _LABELS, or "other"
    label: str  # as written, for notes
    value: str


def read_field(line: str) -> Field | None:
    match = _FIELD.match(line)
    if not match:
        return None
    label = (match.group("a") or match.group("b") or match.group("c")).strip()
    key = re.sub(r"\([^)]*\)", " ", label.lower())
    key = " ".join(key.strip(" :").split())
    kind = _LABELS.get(key) or ("accept" if "criteria" in key else "other")
    return Field(kind, label.strip(" :"), match.group("value").strip())


# --------------------------------------------------------------------------- dependencies

_REF = r"(?:#\d+\b|\d+\b|[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*\b)"
DEPENDENCY = re.compile(
    r"(?i:\b(?:depends\s+on|depending\s+on|dependent\s+on|blocked\s+by|waits?\s+(?:for|on)|"
    r"after|post|requires|needs))[\s-]+(?P<task>(?i:(?:the\s+)?tasks?\s+))?"
    rf"(?P<refs>{_REF}(?:\s*(?:,|&|\+|(?i:and))\s*{_REF})*)"
)
TASK_MENTION = re.compile(rf"\bTasks?\s+(?P<refs>{_REF}(?:\s*(?:,|&|(?i:and))\s*{_REF})*)")
BOLD_KEY_START = re.compile(rf"^\*\*(?P<ref>{_REF})\*\*")
# An id as people write it at the start of a heading, item or bold label: E1, A1, B6,
# H26, CC-3, #4, E402-1 (letters then digits, or letters-digits).
WRITTEN_ID = r"(?:#\d+|[A-Z]{1,4}-\d+(?:[.-]\d+)?[a-z]?|[A-Z]{1,4}\d+(?:[.-]\d+)?[a-z]?)"
KEY_LIKE = re.compile(r"#\d+|[A-Za-z]+-\d[\w-]*|[A-Z]+\d+[\w-]*")
BY_NAME = re.compile(r"\b(?:by|from)\s+(?P<name>[A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)")


def warning_line(warning: str) -> int:
    """Warnings read top to bottom, like the plan they are about."""
    match = re.match(r"line (\d+):", warning)
    return int(match.group(1)) if match else 0


def refs_in(text: str) -> list[str]:
    return re.findall(_REF, text)


def differs(name: str, mine: str, theirs: str) -> bool:
    """Whether two statements of one field disagree (agent spellings and markup aside)."""
    if name in ("owner", "reviewer"):
        return normalize_agent_name(mine) != normalize_agent_name(theirs)
    if name in ("goal",):
        return plain_text(mine).lower() != plain_text(theirs).lower()
    return mine != theirs

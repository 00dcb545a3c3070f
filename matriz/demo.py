"""Demo data: a memory index built from the shared LUKHAS plans.

Every heading, bullet, table row, paragraph line and code block of the plans
becomes one memory (mojibake repaired as the plan importer does), with its source file,
section and kind as metadata. Ids are derived from the source and the text,
so loading again changes nothing; repeated lines across plans make near
duplicates that the folding task can show off on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings

from coordination.plan_parser import repair_mojibake
from lukhas_site.errors import NotFound
from matriz import selectors, services

DEMO_OWNER = "demo"
DEMO_INDEX = "lukhas-plans"
FIXTURE_PLANS = Path(__file__).resolve().parent.parent / "coordination" / "fixtures" / "plans"
# The fixtures' copies of the shared plans (the other fixtures are broken on purpose).
FIXTURE_DEMO_PLANS = ("coordination-task-assignments.md", "t4-handoff-todo.md")
MIN_CHARS = 12

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s*)?(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
_MARKUP = re.compile(r"\*\*|__|`")


def demo_plan_files() -> list[Path]:
    shared = Path(settings.SHARED_DIR) / "plans"
    if shared.is_dir():
        files = sorted(shared.glob("*.md"))
        if files:
            return files
    return [FIXTURE_PLANS / name for name in FIXTURE_DEMO_PLANS if (FIXTURE_PLANS / name).is_file()]


def plan_memories(text: str, source: str) -> Iterator[dict]:
    """One memory per meaningful line (a code block is one memory), with metadata."""
    section = ""
    code: list[str] | None = None
    code_line = 0
    for number, raw in enumerate(repair_mojibake(text)[0].splitlines(), start=1):
        line = raw.rstrip()
        if line.lstrip().startswith("```"):
            if code is None:
                code, code_line = [], number
            else:
                body = "\n".join(code).strip()
                if len(body) >= MIN_CHARS:
                    yield _memory(body, source, section, "code", code_line)
                code = None
            continue
        if code is not None:
            code.append(line)
            continue
        stripped = line.strip()
        if not stripped or stripped in {"---", "***"} or _TABLE_RULE.match(stripped):
            continue
        if heading := _HEADING.match(stripped):
            section = _clean(heading.group(2))
            kind, body = "heading", section
        elif stripped.startswith("|"):
            cells = [_clean(c) for c in stripped.strip("|").split("|")]
            kind, body = "table_row", " — ".join(c for c in cells if c)
        elif bullet := _BULLET.match(stripped):
            kind, body = "bullet", _clean(bullet.group(1))
        else:
            kind, body = "paragraph", _clean(stripped)
        if len(body) >= MIN_CHARS:
            yield _memory(body, source, section, kind, number)


def _clean(text: str) -> str:
    return " ".join(_MARKUP.sub("", text).split()).strip()


def _memory(text: str, source: str, section: str, kind: str, line: int) -> dict:
    digest = hashlib.sha256(f"{source}\n{text}".encode()).hexdigest()[:20]
    return {
        "id": f"mem_demo_{digest}",
        "text": text,
        "metadata": {"source": source, "section": section, "kind": kind, "line": line},
    }


def load_demo_memories(report: Callable[[str], None]) -> str:
    try:
        index = selectors.index_get(owner=DEMO_OWNER, name=DEMO_INDEX)
    except NotFound:
        index = services.index_create(
            owner=DEMO_OWNER,
            name=DEMO_INDEX,
            metadata={"description": "the shared LUKHAS plans, one memory per line"},
        )
    files = demo_plan_files()
    created = updated = 0
    for path in files:
        memories = list(
            {
                m["id"]: m for m in plan_memories(path.read_text(errors="replace"), path.name)
            }.values()
        )
        batch = settings.MATRIZ_MAX_BATCH
        for start in range(0, len(memories), batch):
            written = services.items_add(index=index, items=memories[start : start + batch])
            created += written.created
            updated += written.updated
        report(f"{path.name}: {len(memories)} memories")
    index.refresh_from_db()
    folder = files[0].parent if files else "(no plans found)"
    return (
        f"{index.item_count} memories in {index.key} ({created} new, {updated} updated) "
        f"from {folder}"
    )

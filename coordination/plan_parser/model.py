"""What a parse returns: the parsed plan, its tasks and gates, and the error that stops an import.

This is the parser's output contract (written up for the import side in
``docs/plan-format.md``). Two rules run through it:

- **Keys as written.** ``ParsedTask.key`` is the id the person wrote (``#1``, ``CC-2``,
  ``A``, ``E1``, ``H26``); only a task without any id gets a derived slug, and then
  ``key_derived`` is true and a warning says so. Keys never contain mojibake.
- **Nothing guessed.** ``priority``, ``risk`` and the estimate are ``None`` when the plan
  does not state them; whatever the parser *infers* (an owner from a heading, a done
  status from a ✅, a dependency from prose) is listed in ``ParsedPlan.inferences``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

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


class PlanNote(str):
    """A warning or an inference with its line: the string ``"line 12: message"``.

    A ``str`` so the callers that store and show warnings as text keep working, with
    ``line`` and ``message`` for the callers that want them apart.
    """

    line: int
    message: str

    def __new__(cls, line: int, message: str) -> PlanNote:
        note = super().__new__(cls, f"line {line}: {message}")
        note.line = line
        note.message = message
        return note

    def __getnewargs__(self) -> tuple[int, str]:  # type: ignore[override]
        return (self.line, self.message)

    def as_dict(self) -> dict[str, Any]:
        """The note for JSON: ``{"line": 12, "message": "..."}``."""
        return {"line": self.line, "message": self.message}


class AcceptanceItem(NamedTuple):
    """One acceptance criterion; a tuple so ``("text", False)`` compares equal to it."""

    text: str
    done: bool


class GateItem(NamedTuple):
    """One checklist line of a plan gate (``- [x] p95 latency ≤ 300 ms``)."""

    text: str
    checked: bool
    line: int


@dataclass
class PlanGate:
    """A plan-level checklist (phase gate, success criteria): conditions, not tasks."""

    title: str
    line: int
    items: list[GateItem] = field(default_factory=list)


@dataclass
class ParsedTask:
    """One task as the plan states it.

    ``None`` (priority, risk, estimate) and empty strings mean "the plan does not say".
    ``depends_on`` holds keys of this plan as written (``#1``, ``A1``) and cross-plan
    references verbatim (``OTHER-PLAN:B2``); a reference that names nothing known stays
    in ``unresolved_depends_on`` as written, with a warning naming its line.
    """

    key: str
    title: str
    track: str = ""
    owner: str = ""
    collaborators: list[str] = field(default_factory=list)
    reviewer: str = ""
    status: str = "todo"
    priority: str | None = None
    risk: str | None = None
    estimate_min_hours: float | None = None
    estimate_max_hours: float | None = None
    files: list[str] = field(default_factory=list)
    branch: str = ""
    requires_critical_review: bool = False
    acceptance: list[AcceptanceItem] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    unresolved_depends_on: list[str] = field(default_factory=list)
    notes: str = ""
    goal: str = ""
    source_line: int = 0
    key_derived: bool = False

    @property
    def done(self) -> bool:
        """The plan marks the task done (✅, ``[x]``, "Status: done")."""
        return self.status == "done"

    @property
    def estimate_hours(self) -> float | None:
        """The stated estimate in hours: a range's upper bound (``2-3h`` → 3.0), else None."""
        if self.estimate_max_hours is not None:
            return self.estimate_max_hours
        return self.estimate_min_hours


@dataclass
class ParsedPlan:
    """A whole plan: the tasks in document order, its gates, and what the coordinator
    should know (warnings) or check (inferences)."""

    title: str
    tasks: list[ParsedTask]
    tracks: list[str]
    warnings: list[PlanNote]
    checksum: str
    repaired_mojibake: bool
    source_name: str = ""
    coordinator: str = ""
    gates: list[PlanGate] = field(default_factory=list)
    inferences: list[PlanNote] = field(default_factory=list)

    def task(self, key: str) -> ParsedTask:
        """The task with ``key``; KeyError names the key so a test failure reads well."""
        for task in self.tasks:
            if task.key == key:
                return task
        raise KeyError(key)


def _note_dict(note: str) -> dict[str, Any]:
    if isinstance(note, PlanNote):
        return note.as_dict()
    return {"line": None, "message": str(note)}


def plan_to_dict(plan: ParsedPlan) -> dict[str, Any]:
    """A JSON-serialisable view of a parsed plan (``import_plan --format json``)."""
    return {
        "title": plan.title,
        "source_name": plan.source_name,
        "checksum": plan.checksum,
        "repaired_mojibake": plan.repaired_mojibake,
        "coordinator": plan.coordinator,
        "tracks": list(plan.tracks),
        "warnings": [str(w) for w in plan.warnings],
        "warning_details": [_note_dict(w) for w in plan.warnings],
        "inferences": [_note_dict(i) for i in plan.inferences],
        "gates": [
            {
                "title": g.title,
                "line": g.line,
                "items": [{"text": i.text, "checked": i.checked, "line": i.line} for i in g.items],
            }
            for g in plan.gates
        ],
        "tasks": [
            {
                "key": t.key,
                "key_derived": t.key_derived,
                "title": t.title,
                "track": t.track,
                "owner": t.owner,
                "collaborators": list(t.collaborators),
                "reviewer": t.reviewer,
                "status": t.status,
                "done": t.done,
                "priority": t.priority,
                "risk": t.risk,
                "estimate_min_hours": t.estimate_min_hours,
                "estimate_max_hours": t.estimate_max_hours,
                "estimate_hours": t.estimate_hours,
                "files": list(t.files),
                "branch": t.branch,
                "requires_critical_review": t.requires_critical_review,
                "acceptance": [{"text": a.text, "done": a.done} for a in t.acceptance],
                "depends_on": list(t.depends_on),
                "unresolved_depends_on": list(t.unresolved_depends_on),
                "notes": t.notes,
                "goal": t.goal,
                "source_line": t.source_line,
            }
            for t in plan.tasks
        ],
    }

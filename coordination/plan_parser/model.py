"""What a parse returns: the parsed plan and its tasks, and the error that stops an import."""

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

"""Writes of the audits pages and tools: soft-audit findings into coordination tasks.

Beside ``audits.services`` (the health audit's writes) so the two can grow apart
without merge fights; the layers contract puts both in the services layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from audits.soft_audit import Finding
from coordination.models import Priority, Task
from coordination.services import agent_resolve, task_create

# A finding's severity → the task's priority; "unknown" keeps the task's default
# priority and says so in the notes (we do not guess).
_PRIORITY = {
    "critical": Priority.CRITICAL,
    "high": Priority.HIGH,
    "medium": Priority.MEDIUM,
    "low": Priority.LOW,
    "info": Priority.LOW,
}


@dataclass(frozen=True, slots=True)
class FindingTask:
    """What the import did for one finding: the task and whether it is new."""

    finding: Finding
    task_key: str
    created: bool


def soft_audit_task_key(finding: Finding) -> str:
    """The task key of a finding: ``SA-…`` ids as they are, others prefixed (``#3`` → ``SA-3``),
    so soft-audit tasks never collide with a plan's keys and re-imports find their task."""
    ident = finding.id.lstrip("#")
    return ident if ident.upper().startswith("SA-") else f"SA-{ident}"


def _notes(finding: Finding, source: str) -> str:
    lines = [
        f"Soft-audit finding {finding.id} from {source}, line {finding.line}.",
        f"Severity: {finding.severity}. Area: {finding.area or 'unknown'}. "
        f"File: {finding.file_hint or 'unknown'}.",
    ]
    if finding.suggested_owner:
        lines.append(f"Suggested owner: {finding.suggested_owner}.")
    if finding.details:
        lines += ["", finding.details]
    return "\n".join(lines)


def soft_audit_tasks_sync(
    *, findings: Iterable[Finding], source: str, by: str
) -> list[FindingTask]:
    """One coordination task per finding, keyed by the finding id.

    Idempotent: a finding whose task exists is left alone (the task may have been
    assigned, edited or closed since: a re-import must not undo that). All or
    nothing: one refusal writes no task.
    """
    findings = list(findings)
    keys = [soft_audit_task_key(finding) for finding in findings]
    results: list[FindingTask] = []
    with transaction.atomic():
        existing = set(Task.objects.filter(key__in=keys).values_list("key", flat=True))
        for finding, key in zip(findings, keys, strict=True):
            if key in existing:
                results.append(FindingTask(finding, key, created=False))
                continue
            fields: dict[str, object] = {
                "files": [finding.file_path] if finding.file_path else [],
                "notes": _notes(finding, source),
                "goal": finding.summary,
                "source_line": finding.line,
            }
            if finding.severity in _PRIORITY:
                fields["priority"] = _PRIORITY[finding.severity]
            if finding.suggested_owner:  # only an agent we know: a suggestion creates none
                fields["owner"] = agent_resolve(finding.suggested_owner, create=False).agent
            task_create(by=by, key=key, title=finding.summary[:300], **fields)
            existing.add(key)
            results.append(FindingTask(finding, key, created=True))
    return results

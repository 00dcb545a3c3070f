"""The coordination exports: ``task_status.json``, ``COORDINATION_DASHBOARD.md`` and the
daily report, built from a snapshot and the tasks as they are.

``task_status.json`` follows the versioned JSON Schema in
``docs/schemas/task_status.v1.json``: fields are only ever added within a
version; a rename or removal means ``task_status.v2``. The same three files come
from ``manage.py coord_snapshot``, the scheduled snapshot, the board's download
links and ``GET /api/coordination/exports/<name>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.utils import timezone

from coordination.models import (
    Snapshot,
    TaskStatus,
    remaining_label,
    status_label,
)
from coordination.selectors import (
    NO_TRACK_LABEL,
    UNASSIGNED_LABEL,
    ExportRecord,
    blockers,
    clashing_keys,
    dependency_edges,
    events_between,
    export_records,
    graph_view,
    light_tasks,
    snapshot_before,
    snapshot_compute,
    snapshot_latest,
)

SCHEMA_VERSION = 1
SCHEMA_ID = "https://lukhas.ops/schemas/coordination/task_status.v1.json"
# Version 2: unknown is null (priority, risk), totals say what they leave out, every
# task names its plan. Version 1 stays at its old file name for its readers.
SCHEMA_V2_VERSION = 2
SCHEMA_V2_ID = "https://lukhas.ops/schemas/coordination/task_status.v2.json"
TASK_STATUS = "task_status.json"
TASK_STATUS_V2 = "task_status.v2.json"
DASHBOARD = "COORDINATION_DASHBOARD.md"
DAILY_REPORT = "daily_report.md"
EXPORT_NAMES = (TASK_STATUS, TASK_STATUS_V2, DASHBOARD, DAILY_REPORT)
# What version 1 writes for an unknown priority or risk: it has no null, and "medium"
# is what every such task showed before unknown existed. Read version 2 to tell them apart.
V1_UNKNOWN = "medium"
CONTENT_TYPES = {
    TASK_STATUS: "application/json",
    TASK_STATUS_V2: "application/json",
    DASHBOARD: "text/markdown; charset=utf-8",
    DAILY_REPORT: "text/markdown; charset=utf-8",
}
ACTIVITY_LIMIT = 200


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _cell(value: Any) -> str:
    """A markdown table cell: pipes escaped, one line."""
    return " ".join(str(value).replace("|", "\\|").split())


def _remaining(snapshot: Snapshot) -> str:
    return remaining_label(
        snapshot.remaining_hours, snapshot.estimated_open_count, snapshot.unestimated_open_count
    )


def _snapshot_name(snapshot: Snapshot) -> str:
    return f"snapshot #{snapshot.pk}" if snapshot.pk else "the board now"


@dataclass
class ExportBundle:
    snapshot: Snapshot
    previous: Snapshot | None
    files: dict[str, str]

    def write(self, out_dir: Path) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, content in self.files.items():
            path = out_dir / name
            path.write_text(content, encoding="utf-8")
            written.append(path)
        # The daily reports pile up by date and time, one per snapshot.
        reports = out_dir / "reports"
        reports.mkdir(exist_ok=True)
        dated = reports / f"{self.snapshot.taken_at.astimezone(UTC):%Y-%m-%dT%H%M}.md"
        dated.write_text(self.files[DAILY_REPORT], encoding="utf-8")
        written.append(dated)
        return written


def export_bundle(*, snapshot: Snapshot | None = None) -> ExportBundle:
    """The three files for ``snapshot`` (saved), or for the board now against the latest."""
    if snapshot is None:
        current, previous = snapshot_compute(), snapshot_latest()
    else:
        current, previous = snapshot, snapshot_before(snapshot)
    edges = dependency_edges()
    tasks = export_records(edges)
    graph = graph_view(light_tasks(), edges)
    status_v2 = task_status_v2(current, tasks, graph)
    status = task_status(current, tasks, graph)
    return ExportBundle(
        snapshot=current,
        previous=previous,
        files={
            TASK_STATUS: json.dumps(status, indent=2, ensure_ascii=False) + "\n",
            TASK_STATUS_V2: json.dumps(status_v2, indent=2, ensure_ascii=False) + "\n",
            DASHBOARD: dashboard_markdown(current, tasks, graph),
            DAILY_REPORT: daily_report(previous, current),
        },
    )


# --------------------------------------------------------------------------- task_status.json


def task_status(snapshot: Snapshot, tasks: list[ExportRecord], graph: Any) -> dict[str, Any]:
    """Version 1 (``task_status.json``): an unknown priority or risk reads ``V1_UNKNOWN``."""
    document = _task_status(snapshot, tasks, graph)
    for entry in document["tasks"]:
        for name in ("priority", "risk"):
            if entry[name] is None:
                entry[name] = V1_UNKNOWN
    return document


def task_status_v2(snapshot: Snapshot, tasks: list[ExportRecord], graph: Any) -> dict[str, Any]:
    """Version 2 (``task_status.v2.json``): unknown is null, totals count what they omit."""
    document = _task_status(snapshot, tasks, graph)
    document["$schema"] = SCHEMA_V2_ID
    document["schema_version"] = SCHEMA_V2_VERSION
    totals = document["totals"]
    # From the snapshot, as the other totals; null on a snapshot older than the counts.
    totals["estimated_open"] = snapshot.estimated_open_count
    totals["unestimated_open"] = snapshot.unestimated_open_count
    totals["remaining_label"] = _remaining(snapshot)
    totals["priority_unknown"] = sum(1 for t in tasks if t.priority is None)
    totals["risk_unknown"] = sum(1 for t in tasks if t.risk is None)
    return document


def _task_status(snapshot: Snapshot, tasks: list[ExportRecord], graph: Any) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(timezone.now()),
        "snapshot": {
            "id": snapshot.pk,
            "taken_at": _iso(snapshot.taken_at),
            "slot": snapshot.slot or None,
        },
        "totals": {
            "tasks": snapshot.task_count,
            "open": snapshot.open_count,
            "done": snapshot.done_count,
            "by_status": {s: snapshot.by_status.get(s, 0) for s in TaskStatus.values},
            "by_owner": snapshot.by_owner,
            "by_track": snapshot.by_track,
            "remaining_hours": snapshot.remaining_hours,
            "remaining_hours_by_owner": snapshot.remaining_hours_by_owner,
        },
        "critical_path": {
            "hours": graph.critical_path_hours,
            "tasks": [t.label or t.key for t in graph.critical_path],
        },
        "tasks": [_task_entry(task, graph) for task in tasks],
    }


def _task_entry(task: ExportRecord, graph: Any) -> dict[str, Any]:
    estimate = None
    if task.estimate_min_hours is not None or task.estimate_max_hours is not None:
        low, high = task.estimate_min_hours, task.estimate_max_hours
        estimate = {
            "min": low if low is not None else high,
            "max": high if high is not None else low,
        }
    return {
        "key": task.key,
        "plan": task.plan,
        "ref": task.label or task.key,
        "title": task.title,
        "track": task.track,
        "owner": task.owner,
        "collaborators": task.collaborators,
        "reviewer": task.reviewer,
        "status": task.status,
        "priority": task.priority,
        "risk": task.risk,
        "estimate_hours": estimate,
        "remaining_hours": task.remaining_hours,
        "files": list(task.files or []),
        "branch": task.branch,
        "pr_url": task.pr_url,
        "ci_conclusion": task.ci_conclusion,
        "requires_critical_review": task.requires_critical_review,
        "approved_by": task.approved_by,
        "approved_at": _iso(task.approved_at),
        "acceptance": {
            "done": sum(1 for _, done in task.acceptance if done),
            "total": len(task.acceptance),
            "items": [{"text": text, "done": done} for text, done in task.acceptance],
        },
        "depends_on": task.depends_on,
        "blocks": task.blocks,
        "waits_for": [graph.tasks[i].label for i in graph.waits_for.get(task.id, [])],
        "holds_up": graph.holds_up.get(task.id, 0),
        "blocked_reason": task.blocked_reason,
        "source": {"plan": task.source_plan, "line": task.source_line},
        "updated_at": _iso(task.updated_at),
    }


# --------------------------------------------------------------------------- dashboard


def dashboard_markdown(snapshot: Snapshot, tasks: list[ExportRecord], graph: Any) -> str:
    lines = [
        "# Coordination dashboard",
        "",
        f"Generated {_when(timezone.now())} from {_snapshot_name(snapshot)} "
        f"({_when(snapshot.taken_at)}): **{snapshot.task_count} tasks**, "
        f"{snapshot.open_count} open, {snapshot.done_count} done, "
        f"**{_remaining(snapshot)}** of estimated work remaining.",
        "",
        "## By status",
        "",
        "| Status | Tasks | Keys |",
        "|---|---:|---|",
    ]
    keys_by_status: dict[str, list[str]] = {}
    for task in tasks:
        keys_by_status.setdefault(task.status, []).append(task.label or task.key)
    for status, label in TaskStatus.choices:
        keys = keys_by_status.get(status, [])
        lines.append(f"| {label} | {len(keys)} | {_cell(', '.join(keys)) or '—'} |")
    lines += [
        "",
        "## By owner",
        "",
        "| Owner | " + " | ".join(label for _, label in TaskStatus.choices) + " | Remaining h |",
        "|---|" + "---:|" * (len(TaskStatus.choices) + 1),
    ]
    for owner, counts in snapshot.by_owner.items():
        row = [str(counts.get(status, 0)) for status in TaskStatus.values]
        hours = snapshot.remaining_hours_by_owner.get(owner, 0)
        lines.append(f"| {_cell(owner)} | " + " | ".join(row) + f" | {hours:g} |")
    found = blockers(graph, {t.id: t.blocked_reason for t in tasks if t.blocked_reason})
    lines += ["", "## Blockers", ""]
    if found:
        lines += ["| Task | Status | Why | Holds up |", "|---|---|---|---:|"]
        for blocker in found:
            why = blocker.reason or ""
            if blocker.waits_for:
                waits = ", ".join(t.label for t in blocker.waits_for)
                why = f"{why}; waits for {waits}" if why else f"waits for {waits}"
            lines.append(
                f"| {_cell(blocker.task.label)}: {_cell(blocker.task.title)} "
                f"| {status_label(blocker.task.status)} | {_cell(why)} | {blocker.holds_up} |"
            )
    else:
        lines.append("Nothing is blocked.")
    review = [t for t in tasks if t.status == TaskStatus.IN_REVIEW]
    review.sort(key=lambda t: (not t.requires_critical_review, t.key))
    lines += ["", "## Ready for review", ""]
    if review:
        lines += [
            "| Task | Owner | Reviewer | Critical review | Approved |",
            "|---|---|---|---|---|",
        ]
        for task in review:
            lines.append(
                f"| {_cell(task.label)}: {_cell(task.title)} "
                f"| {_cell(task.owner or UNASSIGNED_LABEL)} "
                f"| {_cell(task.reviewer or '—')} "
                f"| {'yes' if task.requires_critical_review else 'no'} "
                f"| {'yes' if task.approved_at else 'no'} |"
            )
    else:
        lines.append("Nothing is waiting for review.")
    lines += ["", f"## Critical path ({graph.critical_path_hours:g} h)", ""]
    if graph.critical_path:
        lines.append(
            " → ".join(
                f"{t.label} ({t.remaining_hours:g} h)" if t.remaining_hours else t.label
                for t in graph.critical_path
            )
        )
    else:
        lines.append("No open work with estimates.")
    lines += ["", "## By track", "", "| Track | Open | Done | Total |", "|---|---:|---:|---:|"]
    for track, counts in snapshot.by_track.items():
        total = sum(counts.values())
        done = counts.get(TaskStatus.DONE, 0)
        opened = total - done - counts.get(TaskStatus.CANCELLED, 0)
        lines.append(f"| {_cell(track or NO_TRACK_LABEL)} | {opened} | {done} | {total} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- daily report


def daily_report(previous: Snapshot | None, current: Snapshot) -> str:
    day = current.taken_at.astimezone(UTC).strftime("%Y-%m-%d")
    lines = [f"# Daily coordination report — {day}", ""]
    if previous is None:
        lines += [
            f"First snapshot ({_snapshot_name(current)}, {_when(current.taken_at)}): "
            "there is no earlier one to compare with.",
            "",
        ]
    else:
        lines += [
            f"What changed from {_snapshot_name(previous)} ({_when(previous.taken_at)}) "
            f"to {_snapshot_name(current)} ({_when(current.taken_at)}).",
            "",
        ]
    before = previous or Snapshot(taken_at=current.taken_at)
    lines += [
        "| | Before | Now | Change |",
        "|---|---:|---:|---:|",
    ]
    for label, old, new in (
        ("Tasks", before.task_count, current.task_count),
        ("Open", before.open_count, current.open_count),
        ("Done", before.done_count, current.done_count),
        ("Remaining hours", before.remaining_hours, current.remaining_hours),
    ):
        lines.append(f"| {label} | {old:g} | {new:g} | {new - old:+g} |")
    old_statuses = dict(previous.task_statuses) if previous else {}
    new_statuses = dict(current.task_statuses)
    moved = [
        (key, old_statuses[key], status)
        for key, status in sorted(new_statuses.items())
        if key in old_statuses and old_statuses[key] != status
    ]
    added = sorted(k for k in new_statuses if k not in old_statuses)
    removed = sorted(k for k in old_statuses if k not in new_statuses)
    lines += ["", "## Status changes", ""]
    if moved:
        lines += ["| Task | From | To |", "|---|---|---|"]
        lines += [f"| {_cell(k)} | {status_label(a)} | {status_label(b)} |" for k, a, b in moved]
    else:
        lines.append("No task changed status.")
    if previous is not None:
        lines += ["", "## New tasks", ""]
        lines.append(", ".join(added) if added else "None.")
        lines += ["", "## Removed tasks", ""]
        lines.append(", ".join(removed) if removed else "None.")
    start = previous.taken_at if previous else None
    events = list(events_between(start, current.taken_at)[: ACTIVITY_LIMIT + 1])
    clashing = clashing_keys()
    lines += ["", "## Activity", ""]
    if events:
        lines += ["| When | Task | Who | What | From | To |", "|---|---|---|---|---|---|"]
        for event in events[:ACTIVITY_LIMIT]:
            task = event.task.ref if event.task.key in clashing else event.task.key
            lines.append(
                f"| {_when(event.created_at)} | {_cell(task)} | {_cell(event.actor)} "
                f"| {_cell(event.field)} | {_cell(event.from_value)[:80]} "
                f"| {_cell(event.to_value)[:80]} |"
            )
        if len(events) > ACTIVITY_LIMIT:
            lines.append(f"\nOnly the first {ACTIVITY_LIMIT} changes are listed.")
    else:
        lines.append("Nothing happened.")
    return "\n".join(lines) + "\n"

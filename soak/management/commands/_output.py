"""What the soak commands print: a run, its gates, and the page to open."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from soak import selectors
from soak.models import SoakRun


def page_url() -> str:
    return f"{settings.JOBS_BASE_URL.rstrip('/')}/soak/"


def shown(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}"


def run_status(run: SoakRun) -> dict[str, Any]:
    """The run as JSON (soak_status --json), gates included."""
    latest = selectors.latest_snapshot(run)
    return {
        "release": run.release.name,
        "run": run.pk,
        "phase": run.phase,
        "message": run.message,
        "target_url": run.target_url or settings.SOAK_SELF_URL,
        "planned_hours": run.planned_hours,
        "hours_covered": round(run.hours_covered, 4),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "gates_version": run.gates_version,
        "gates_checksum": run.gates_checksum,
        "latest_snapshot": None
        if latest is None
        else {
            "id": latest.pk,
            "taken_at": latest.taken_at.isoformat(),
            "complete": latest.complete,
            "artifacts": latest.artifacts,
        },
        "gates": [
            {
                "id": row.gate_id,
                "title": row.title,
                "phase": row.phase,
                "value": row.value,
                "comparator": row.comparator,
                "threshold": row.threshold,
                "severity": row.severity,
                "advisory": row.advisory,
                "query": row.query,
                "message": row.message,
                "counts": {
                    "successful": row.successful,
                    "failed": row.failed,
                    "inconclusive": row.inconclusive,
                    "error": row.errors,
                    "consecutive_errors": row.consecutive_errors,
                },
                "tasks": row.tasks,
            }
            for row in selectors.run_gate_results(run)
        ],
        "url": page_url(),
    }


def run_lines(run: SoakRun) -> list[str]:
    """The run as a few lines for a terminal."""
    status = run_status(run)
    lines = [
        f"{status['release']} soak #{status['run']}: {status['phase']}, "
        f"{status['hours_covered']:.2f} of {status['planned_hours']} h covered "
        f"(target {status['target_url']})",
        f"  {status['message']}",
    ]
    for gate in status["gates"]:
        flag = " advisory" if gate["advisory"] else ""
        lines.append(
            f"  {gate['id']:<24} {gate['phase']:<13} {shown(gate['value']):>10} "
            f"{gate['comparator']} {gate['threshold']:g} ({gate['severity']}{flag})"
        )
        if gate["phase"] != "successful":
            lines.append(f"      {gate['message']}")
    latest = status["latest_snapshot"]
    if latest:
        lines.append(
            f"  latest snapshot #{latest['id']} at {latest['taken_at']}"
            f" ({'complete' if latest['complete'] else 'incomplete'})"
        )
        lines += [f"  artifact {a['path']} sha256 {a['sha256']}" for a in latest["artifacts"]]
    lines.append(f"Open {status['url']}")
    return lines

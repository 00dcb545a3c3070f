"""Audits' tool for MATRIZ (``lukhas.tools``): the latest health report and its quality gate."""

from __future__ import annotations

from typing import Any

from audits.selectors import latest_reports
from matriz.tooling import OpsTool, ToolContext, ToolResult

SCOPE = "ops:read"
KEY_FACTS = (
    "smoke.pass_percent", "coverage.percent", "ruff.production", "ruff.hot_paths",
    "vulnerabilities.count", "licences.violations", "lanes.violations",
)  # fmt: skip


def _report(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    wanted = str(arguments.get("codebase") or "").strip()
    reports = [r for r in latest_reports() if not wanted or r.codebase.name == wanted]
    if not reports:
        return ToolResult({"report": None}, "No health report has been made yet.")
    lines, data = [], []
    for report in reports:
        facts = report.facts or {}
        shown = [
            f"{name} {'unknown' if facts.get(name) is None else facts[name]}"
            for name in KEY_FACTS
            if name in facts
        ]
        failing = [
            f"{c.get('metric')} ({c.get('actual')} needs "
            f"{c.get('comparator')} {c.get('threshold')})"
            for gate in list((report.gate_verdicts or {}).values())[:1]
            for c in gate.get("conditions", [])
            if c.get("status") not in ("OK", "ok")
        ]
        line = f"{report.codebase.name}: quality gate {report.status}"
        if shown:
            line += "; " + ", ".join(shown)
        if failing:
            line += ". Not met: " + "; ".join(failing)
        lines.append(line + ".")
        data.append(
            {"codebase": report.codebase.name, "status": report.status, "report_id": report.pk}
            | {"facts": {name: facts.get(name) for name in KEY_FACTS if name in facts}}
        )
    sources = [f"health:{r.codebase.name}#{r.pk}" for r in reports]
    return ToolResult({"reports": data}, "\n".join(lines), sources)


HEALTH_REPORT = OpsTool(
    name="health_report",
    description="The latest codebase health report: the quality gate's status, smoke tests, "
    "coverage, ruff, vulnerabilities and the conditions not met.",
    parameters={
        "type": "object",
        "properties": {"codebase": {"type": "string", "description": "a configured codebase"}},
        "additionalProperties": False,
    },
    scope=SCOPE,
    triggers=(
        "health",
        "healthy",
        "coverage",
        "ruff",
        "lint",
        "vulnerabilities",
        "quality gate",
        "audit",
        "smoke tests",
        "smoke",
    ),
    run=_report,
)

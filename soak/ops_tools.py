"""Soak's tool for MATRIZ (``lukhas.tools``): the running soak, its hours, each gate's verdict."""

from __future__ import annotations

from typing import Any

from matriz.tooling import OpsTool, ToolContext, ToolResult
from soak.selectors import active_run, release_by_name, run_for_page, run_gate_results

SCOPE = "ops:read"


def _value(value: float | None) -> str:
    return "no data" if value is None else f"{value:g}"


def _status(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    release = str(arguments.get("release") or "").strip()
    if release:
        try:
            release_by_name(release)
        except Exception:  # NotFound: say so, never guess another release
            return ToolResult({"run": None}, f"There is no release {release!r}.")
        run = run_for_page(release=release)
    else:
        run = active_run() or run_for_page()
    if run is None:
        return ToolResult({"run": None}, "No soak has run yet.")
    gates = list(run_gate_results(run))
    lines = [
        f"{gate.gate_id}: {gate.phase} ({_value(gate.value)} {gate.comparator} "
        f"{gate.threshold:g}{', advisory' if gate.advisory else ''})"
        for gate in gates
    ]
    failing = [gate.gate_id for gate in gates if gate.phase in ("failed", "error")]
    head = (
        f"Soak of {run.release.name}: {run.phase}, {run.hours_covered:g} of "
        f"{run.planned_hours} planned hours covered by data."
    )
    if failing:
        head += f" Failing: {', '.join(failing)}."
    data = {
        "release": run.release.name,
        "phase": run.phase,
        "hours_covered": run.hours_covered,
        "planned_hours": run.planned_hours,
        "gates": [
            {
                "id": g.gate_id,
                "phase": g.phase,
                "value": g.value,
                "comparator": g.comparator,
                "threshold": g.threshold,
                "advisory": g.advisory,
            }
            for g in gates
        ],
    }
    return ToolResult(data, "\n".join([head, *lines]), [f"soak:{run.release.name}"])


SOAK_STATUS = OpsTool(
    name="soak_status",
    description="The release candidate's soak: phase, hours covered against planned, and each "
    "GA gate's phase, value and threshold.",
    parameters={
        "type": "object",
        "properties": {"release": {"type": "string", "description": "e.g. v0.9.0-rc"}},
        "additionalProperties": False,
    },
    scope=SCOPE,
    triggers=(
        "soak",
        "soaking",
        "ga gate",
        "ga gates",
        "gates",
        "release candidate",
        "promote",
        "promotion",
        "ready to ship",
        "can we ship",
    ),
    run=_status,
)

"""The ``soak`` source: the run's own figures (``key: hours_covered``, …)."""

from __future__ import annotations

from soak.gates import GateSpec
from soak.sources.base import MeasureContext, Measurement

# The figures the run hands every source (ctx.run_figures), by key.
FIGURES = ("hours_covered", "hours_elapsed", "planned_hours", "out_of_time")


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    key = gate.key or "hours_covered"
    query = f"run #{ctx.run_id} {key}"
    value = ctx.run_figures.get(key)
    if value is None:
        known = ", ".join(sorted(ctx.run_figures)) or "none"
        return Measurement(None, query, f"the run has no figure {key!r} (known: {known})")
    detail: dict[str, object] = {
        name: ctx.run_figures.get(name) for name in FIGURES if name in ctx.run_figures
    }
    planned = ctx.run_figures.get("planned_hours")
    out_of_time = bool(ctx.run_figures.get("out_of_time"))
    if key == "hours_covered" and planned is not None and value < planned and not out_of_time:
        # The soak goes on until its planned hours are covered: short of the
        # gate's threshold now is "not yet" (soak.evaluation), not "failed".
        detail["in_progress"] = True
    return Measurement(float(value), query, detail=detail)

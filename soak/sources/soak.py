"""The ``soak`` source: the run's own figures (``key: hours_covered``, …)."""

from __future__ import annotations

from soak.gates import GateSpec
from soak.sources.base import MeasureContext, Measurement

# The figures the run hands every source (ctx.run_figures), by key.
FIGURES = ("hours_covered", "hours_elapsed", "planned_hours", "snapshots", "complete_snapshots")


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    key = gate.key or "hours_covered"
    query = f"run #{ctx.run_id} {key}"
    value = ctx.run_figures.get(key)
    if value is None:
        known = ", ".join(sorted(ctx.run_figures)) or "none"
        return Measurement(None, query, f"the run has no figure {key!r} (known: {known})")
    detail = {name: ctx.run_figures.get(name) for name in FIGURES if name in ctx.run_figures}
    return Measurement(float(value), query, detail=detail)

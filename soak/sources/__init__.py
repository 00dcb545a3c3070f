"""Gate sources: one module per source kind, chosen by the gate's ``source``.

Each source kind lives in its own module with ``measure(gate, ctx) ->
Measurement`` (``soak.sources.base``); ``SOURCES`` maps a kind to it. A
source that crashes reads as an *error* measurement, never a pass.
"""

from __future__ import annotations

import logging

from soak.gates import GateSpec
from soak.sources import alerts, coordination, health, metrics, probe
from soak.sources import soak as soak_figures
from soak.sources.base import GateSource, MeasureContext, Measurement, SourceError

log = logging.getLogger(__name__)

# source kind → its reader (docs/soak.md, "Sources").
SOURCES: dict[str, GateSource] = {
    "metrics": metrics.measure,
    "probe": probe.measure,
    "health": health.measure,
    "coordination": coordination.measure,
    "alerts": alerts.measure,
    "soak": soak_figures.measure,
}


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    """One reading of ``gate``; raises SourceError when the source cannot be read.

    An unexpected exception inside a source is logged with its traceback and
    becomes a SourceError: one broken source must not stop the snapshot of
    every other gate.
    """
    reader = SOURCES.get(gate.source)
    if reader is None:
        raise SourceError(f"no source of kind {gate.source!r} (known: {', '.join(SOURCES)})")
    try:
        measurement = reader(gate, ctx)
    except SourceError:
        raise
    except Exception as exc:
        log.exception("soak source %s failed on gate %s", gate.source, gate.id)
        raise SourceError(f"source {gate.source!r} failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(measurement, Measurement):
        raise SourceError(f"source {gate.source!r} returned {type(measurement).__name__}")
    return measurement


__all__ = ["SOURCES", "MeasureContext", "Measurement", "SourceError", "measure"]

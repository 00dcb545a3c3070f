"""Gate sources: one module per source kind, chosen by the gate's ``source``.

The dispatcher resolves a kind to its module by a dotted path, so a source
kind lives in its own module (and a kind whose module is not installed yet
reads as an *error* measurement, "source not installed", never a pass).
Each module has ``measure(gate, ctx) -> Measurement`` (``soak.sources.base``).
No Django import here: ``soak.sources.base`` is a pure module of this package.
"""

from __future__ import annotations

import importlib
import logging

from soak.gates import GateSpec
from soak.sources.base import MeasureContext, Measurement, SourceError

log = logging.getLogger(__name__)

# source kind → the module whose ``measure`` reads it (docs/soak.md, "Sources").
SOURCE_MODULES: dict[str, str] = {
    "metrics": "soak.sources.metrics",
    "probe": "soak.sources.probe",
    "health": "soak.sources.health",
    "coordination": "soak.sources.coordination",
    "alerts": "soak.sources.alerts",
    "soak": "soak.sources.soak",
}


def source_module(kind: str) -> object:
    """The module of a source kind; SourceError when it is unknown or not installed."""
    path = SOURCE_MODULES.get(kind)
    if path is None:
        raise SourceError(f"no source of kind {kind!r} (known: {', '.join(SOURCE_MODULES)})")
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name == path:
            raise SourceError(f"source {kind!r} not installed (no module {path})") from exc
        raise SourceError(f"source {kind!r} cannot load: {exc}") from exc


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    """One reading of ``gate``; raises SourceError when the source cannot be read.

    An unexpected exception inside a source is logged with its traceback and
    becomes a SourceError: one broken source must not stop the snapshot of
    every other gate.
    """
    module = source_module(gate.source)
    reader = getattr(module, "measure", None)
    if reader is None:
        raise SourceError(f"source {gate.source!r} has no measure(gate, ctx)")
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


__all__ = ["SOURCE_MODULES", "MeasureContext", "Measurement", "SourceError", "measure"]

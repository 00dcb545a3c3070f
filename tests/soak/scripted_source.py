"""A gate source whose readings the test sets (for rules that are not about a source).

Used by the hours-covered and sentinel-rule tests only: the real sources have
their own tests (test_sources_simple.py and soak-sources' tests).
"""

from __future__ import annotations

from soak.gates import GateSpec
from soak.sources.base import MeasureContext, Measurement, SourceError

# gate id → a value, None (no data) or an exception to raise.
READINGS: dict[str, object] = {}


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    reading = READINGS.get(gate.id, 1.0)
    if isinstance(reading, Exception):
        raise reading
    if reading is not None and not isinstance(reading, int | float):
        raise SourceError(f"bad scripted reading {reading!r}")
    return Measurement(reading, f"scripted({gate.id})")

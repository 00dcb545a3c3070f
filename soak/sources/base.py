"""What a gate source returns, and what it is given.

A source reads one number for one gate (or finds it cannot); the evaluator
(``soak.evaluation``) turns that number into a phase with the gate's
comparator and threshold. Keeping the reading apart from the judging is
what lets every decision be explained the same way whatever the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from soak.gates import GateSpec


class SourceError(Exception):
    """The source could not be read (Prometheus down, probe refused, bad query).

    Counts as an *error* measurement: never a pass, and ``max_consecutive_errors``
    of them in a row put the gate in error.
    """


@dataclass(frozen=True)
class MeasureContext:
    """Where and over which time a gate is measured."""

    run_id: int
    release: str
    target_url: str
    now: datetime
    started_at: datetime
    # The window's start: the run's start for window "soak", else now - window.
    window_start: datetime
    prometheus_url: str = ""
    # The run's figures the ``soak`` source reads (hours_covered, …).
    run_figures: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Measurement:
    """One reading: ``value`` None means no data (never a pass).

    ``query`` is what was read, resolved (the PromQL with its window, the
    report file and key, the task filter), so the gate table can show it.
    ``detail`` carries what a person needs to see why (failing probe
    operations, the tasks counted, the trend).
    """

    value: float | None
    query: str
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


class GateSource(Protocol):
    """A source: raises SourceError when it cannot read, returns value None on no data."""

    def __call__(self, gate: GateSpec, ctx: MeasureContext) -> Measurement: ...

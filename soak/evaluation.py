"""Measurement → phase, and the gates' phases → the run's phase (pure, no Django).

The rules are Argo Rollouts' AnalysisRun rules, with what its users ask for:

- a measurement without a value (no data) is ``gate.no_data``
  (inconclusive by default, or error) — **never** successful;
- a source that cannot be read is an *error* measurement; after
  ``max_consecutive_errors`` of them in a row the gate is in error;
- a **sustained** gate (window ``soak``) is measured over the whole run, so
  its latest measurement decides; a trailing-window gate fails on any failed
  measurement (Argo's default ``failureLimit: 0``); in both, one failed
  measurement of a critical gate fails the gate for good;
- a source may mark a figure that grows with the soak as ``in_progress``
  (the hours covered, below the planned hours): short of its threshold it
  is *running*, not failed;
- a source may attach a ``veto`` to a measurement (``detail["veto"]``: a
  reopened task, a rising trend): that measurement fails whatever its value;
- an **advisory** gate (Argo's ``dryRun``) is shown and never blocks;
- a critical blocking gate failing fails the run at once (error: errors it);
- the run is successful only when its planned hours are covered and every
  blocking gate is successful.

Every verdict carries a message naming threshold, comparator, actual value
and the query, so the gate table explains itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from soak.gates import GateSpec
from soak.sources.base import Measurement, SourceError

PENDING = "pending"
RUNNING = "running"
SUCCESSFUL = "successful"
FAILED = "failed"
ERROR = "error"
INCONCLUSIVE = "inconclusive"

# Sources whose reading is about the hour just passed: a snapshot is complete
# (its time counts toward the planned hours) only when every blocking gate of
# these kinds read a value. Health reports and tasks are not hourly data.
HOURLY_SOURCES = frozenset({"metrics", "probe", "alerts"})


@dataclass(frozen=True)
class Verdict:
    """One gate's measurement in one snapshot, judged."""

    gate_id: str
    phase: str
    value: float | None
    query: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return self.value is not None and self.phase != ERROR


def judge(gate: GateSpec, reading: Measurement | SourceError) -> Verdict:
    """The snapshot-level phase of one measurement (or of a failed read)."""
    window = "over the soak" if gate.window == "soak" else f"over the last {gate.window}"
    if isinstance(reading, SourceError):
        query = getattr(reading, "query", "") or ""
        return Verdict(
            gate_id=gate.id,
            phase=ERROR,
            value=None,
            query=query,
            message=f"{gate.id}: the source could not be read ({reading}) → error",
            detail=dict(getattr(reading, "detail", {}) or {}),
        )
    query = f" (query {reading.query})" if reading.query else ""
    why = f"; {reading.message}" if reading.message else ""
    if reading.value is None:
        phase = gate.no_data
        message = (
            f"{gate.id}: no data {window}{query}; needs {gate.comparator} {gate.threshold:g}"
            f"{why} → {phase} (no data never passes)"
        )
        return Verdict(gate.id, phase, None, reading.query, message, dict(reading.detail))
    value = float(reading.value)
    veto = reading.detail.get("veto")
    if veto:
        # The source found a reason the number alone cannot show (a reopened
        # task, a rising trend): failed whatever the comparison says.
        meets = "meets" if gate.compare(value) else "does not meet"
        message = (
            f"{gate.id}: {value:g} {meets} {gate.comparator} {gate.threshold:g} {window}{query}"
            f"{why}; but {veto} → failed"
        )
        return Verdict(gate.id, FAILED, value, reading.query, message, dict(reading.detail))
    phase = SUCCESSFUL if gate.compare(value) else FAILED
    if phase == FAILED and reading.detail.get("in_progress"):
        # A figure that grows with the soak (its hours) and has not got there
        # yet: not a failure while the soak goes on.
        message = (
            f"{gate.id}: {value:g}, not yet {gate.comparator} {gate.threshold:g}{query}{why} "
            "→ running (the soak goes on)"
        )
        return Verdict(gate.id, RUNNING, value, reading.query, message, dict(reading.detail))
    message = (
        f"{gate.id}: {value:g} {gate.comparator} {gate.threshold:g} {window}{query}{why} → {phase}"
        if phase == SUCCESSFUL
        else f"{gate.id}: {value:g} is not {gate.comparator} {gate.threshold:g} {window}"
        f"{query}{why} → {phase}"
    )
    return Verdict(gate.id, phase, value, reading.query, message, dict(reading.detail))


@dataclass(frozen=True)
class Standing:
    """A gate over the whole run: Argo's counters and the phase they give."""

    gate_id: str
    phase: str = PENDING
    value: float | None = None
    query: str = ""
    message: str = ""
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    errors: int = 0
    consecutive_errors: int = 0
    # A failed measurement of a critical gate: the gate stays failed.
    failed_for_good: bool = False
    # A trailing-window gate that ever failed (failureLimit 0) stays failed.
    ever_failed: bool = False

    @property
    def measurements(self) -> int:
        return self.successful + self.failed + self.inconclusive + self.errors


def standing_update(gate: GateSpec, before: Standing | None, verdict: Verdict) -> Standing:
    """The gate's run-level standing after one more measurement."""
    before = before or Standing(gate_id=gate.id)
    counts = {
        SUCCESSFUL: before.successful,
        FAILED: before.failed,
        INCONCLUSIVE: before.inconclusive,
        ERROR: before.errors,
    }
    counts[verdict.phase] = counts.get(verdict.phase, 0) + 1
    consecutive = before.consecutive_errors + 1 if verdict.phase == ERROR else 0
    critical_fail = gate.severity == "critical" and verdict.phase == FAILED
    failed_for_good = before.failed_for_good or critical_fail
    ever_failed = before.ever_failed or verdict.phase == FAILED
    standing = replace(
        before,
        successful=counts[SUCCESSFUL],
        failed=counts[FAILED],
        inconclusive=counts[INCONCLUSIVE],
        errors=counts[ERROR],
        consecutive_errors=consecutive,
        failed_for_good=failed_for_good,
        ever_failed=ever_failed,
        query=verdict.query or before.query,
    )
    if verdict.has_data:
        standing = replace(standing, value=verdict.value)
    counters = (
        f"[{standing.successful} successful, {standing.failed} failed, "
        f"{standing.inconclusive} inconclusive, {standing.errors} error]"
    )
    if failed_for_good:
        phase = FAILED
        if critical_fail:
            message = f"{verdict.message}; critical: failed for good {counters}"
        else:
            message = (
                "failed for good (a critical measurement failed earlier in the soak); "
                f"latest: {verdict.message} {counters}"
            )
    elif consecutive >= gate.max_consecutive_errors:
        phase = ERROR
        message = (
            f"{verdict.message}; {consecutive} consecutive errors reach the limit "
            f"{gate.max_consecutive_errors} → error {counters}"
        )
    elif verdict.phase == ERROR:
        # Below the limit an error does not decide the gate, but nor does it
        # leave a pass standing on a reading that did not happen.
        phase = INCONCLUSIVE
        message = (
            f"{verdict.message}; {consecutive} consecutive error(s), limit "
            f"{gate.max_consecutive_errors} → inconclusive until a reading succeeds {counters}"
        )
    elif gate.window != "soak" and ever_failed:
        phase = FAILED
        message = (
            f"{verdict.message}; a trailing-window gate fails on any failed measurement "
            f"(failure limit 0) → failed {counters}"
        )
    else:
        phase = verdict.phase
        message = f"{verdict.message} {counters}"
    return replace(standing, phase=phase, message=message)


@dataclass(frozen=True)
class RunVerdict:
    phase: str
    message: str
    finished: bool


def snapshot_complete(gates: Iterable[GateSpec], verdicts: dict[str, Verdict]) -> bool:
    """Whether a snapshot's time counts: every blocking hourly gate read a value."""
    for gate in gates:
        if gate.advisory or gate.source not in HOURLY_SOURCES:
            continue
        verdict = verdicts.get(gate.id)
        if verdict is None or not verdict.has_data:
            return False
    return True


def run_phase(
    gates: Iterable[GateSpec],
    standings: dict[str, Standing],
    *,
    hours_covered: float,
    planned_hours: float,
    out_of_time: bool = False,
) -> RunVerdict:
    """The run's phase from its blocking gates (advisory gates are ignored).

    ``out_of_time``: the run may take no more snapshots (its deadline passed)
    even though its planned hours are not covered.
    """
    gates = [gate for gate in gates if gate.blocking]
    by_phase: dict[str, list[str]] = {}
    for gate in gates:
        standing = standings.get(gate.id) or Standing(gate_id=gate.id)
        by_phase.setdefault(standing.phase, []).append(gate.id)
        if gate.severity == "critical" and standing.phase == FAILED:
            return RunVerdict(
                FAILED, f"critical gate {gate.id} failed: {standing.message}", finished=True
            )
        if gate.severity == "critical" and standing.phase == ERROR:
            return RunVerdict(
                ERROR, f"critical gate {gate.id} is in error: {standing.message}", finished=True
            )
    covered = f"{hours_covered:.2f} of {planned_hours:g} planned hours covered"
    if hours_covered < planned_hours and not out_of_time:
        return RunVerdict(RUNNING, f"running: {covered}", finished=False)

    def names(phase: str) -> str:
        return ", ".join(by_phase.get(phase, []))

    if by_phase.get(FAILED):
        return RunVerdict(FAILED, f"{covered}; failed gates: {names(FAILED)}", finished=True)
    if by_phase.get(ERROR):
        return RunVerdict(ERROR, f"{covered}; gates in error: {names(ERROR)}", finished=True)
    undecided = [
        gate_id for phase in (INCONCLUSIVE, PENDING, RUNNING) for gate_id in by_phase.get(phase, [])
    ]
    if hours_covered < planned_hours:
        extra = f"; also inconclusive: {', '.join(undecided)}" if undecided else ""
        return RunVerdict(INCONCLUSIVE, f"out of time with only {covered}{extra}", finished=True)
    if undecided:
        return RunVerdict(
            INCONCLUSIVE,
            f"{covered}; inconclusive gates (a person may decide them with a reason): "
            f"{', '.join(undecided)}",
            finished=True,
        )
    return RunVerdict(SUCCESSFUL, f"{covered}; every blocking gate successful", finished=True)


def coverage(
    previous_at: float | None, taken_at: float, *, complete: bool, interval_seconds: float
) -> float:
    """Hours one snapshot covers (times in epoch seconds).

    A complete snapshot covers the time since the previous snapshot (or the
    run's start), capped at twice the snapshot interval: a gap longer than
    that had nobody watching. An incomplete snapshot covers nothing.
    """
    if not complete or previous_at is None:
        return 0.0
    span = max(0.0, taken_at - previous_at)
    return min(span, 2 * interval_seconds) / 3600.0


__all__ = [
    "ERROR",
    "FAILED",
    "HOURLY_SOURCES",
    "INCONCLUSIVE",
    "PENDING",
    "RUNNING",
    "SUCCESSFUL",
    "RunVerdict",
    "Standing",
    "Verdict",
    "coverage",
    "judge",
    "run_phase",
    "snapshot_complete",
    "standing_update",
]

"""Gate evaluation: measurement → phase, and the gates → the run's phase (pure rules)."""

from __future__ import annotations

import pytest

from soak import evaluation as ev
from soak.gates import COMPARATORS, GateSpec
from soak.sources.base import Measurement, SourceError


def gate(**fields) -> GateSpec:
    base = {
        "id": "pdp-p95",
        "title": "PDP p95",
        "source": "soak",
        "comparator": ">=",
        "threshold": 0.95,
    }
    return GateSpec.model_validate({**base, **fields})


def reading(value, query="sum(rate(x[1h]))", **detail) -> Measurement:
    return Measurement(value, query, detail=detail)


def run(g: GateSpec, readings) -> ev.Standing:
    standing = None
    for r in readings:
        standing = ev.standing_update(g, standing, ev.judge(g, r))
    return standing


# --------------------------------------------------------------------------- snapshot level


def test_it_judges_a_met_threshold_successful_and_explains_it():
    verdict = ev.judge(gate(), reading(0.97))
    assert verdict.phase == ev.SUCCESSFUL
    assert verdict.message == (
        "pdp-p95: 0.97 >= 0.95 over the soak (query sum(rate(x[1h]))) → successful"
    )


def test_it_judges_a_missed_threshold_failed_and_explains_it():
    verdict = ev.judge(gate(window="1h"), reading(0.9))
    assert verdict.phase == ev.FAILED
    assert "0.9 is not >= 0.95 over the last 1h" in verdict.message
    assert "(query sum(rate(x[1h])))" in verdict.message


def test_it_judges_no_data_inconclusive_by_default():
    verdict = ev.judge(gate(), reading(None))
    assert verdict.phase == ev.INCONCLUSIVE
    assert verdict.value is None
    assert "no data never passes" in verdict.message


def test_it_judges_no_data_error_when_the_gate_says_so():
    assert ev.judge(gate(no_data="error"), reading(None)).phase == ev.ERROR


def test_it_judges_a_source_error_as_error():
    verdict = ev.judge(gate(), SourceError("Prometheus at http://x unreachable"))
    assert verdict.phase == ev.ERROR
    assert "unreachable" in verdict.message
    assert not verdict.has_data


def test_it_fails_a_measurement_the_source_vetoes_whatever_its_value():
    verdict = ev.judge(gate(comparator="<=", threshold=120), reading(100, veto="rising 90 → 100"))
    assert verdict.phase == ev.FAILED
    assert "100 meets <= 120" in verdict.message and "rising 90 → 100" in verdict.message


CASES = [
    # comparator, value, threshold, passes
    ("<", 0.5, 1.0, True), ("<", 1.0, 1.0, False), ("<", 1.5, 1.0, False),
    ("<=", 0.5, 1.0, True), ("<=", 1.0, 1.0, True), ("<=", 1.5, 1.0, False),
    (">", 0.5, 1.0, False), (">", 1.0, 1.0, False), (">", 1.5, 1.0, True),
    (">=", 0.5, 1.0, False), (">=", 1.0, 1.0, True), (">=", 1.5, 1.0, True),
    ("==", 0.5, 1.0, False), ("==", 1.0, 1.0, True), ("==", 1.5, 1.0, False),
    ("!=", 0.5, 1.0, True), ("!=", 1.0, 1.0, False), ("!=", 1.5, 1.0, True),
]  # fmt: skip


@pytest.mark.parametrize(("comparator", "value", "threshold", "passes"), CASES)
def test_it_compares_as_written(comparator, value, threshold, passes):
    verdict = ev.judge(gate(comparator=comparator, threshold=threshold), reading(value))
    assert verdict.phase == (ev.SUCCESSFUL if passes else ev.FAILED)
    assert f" {comparator} {threshold:g}" in verdict.message


def test_it_covers_all_six_comparators():
    assert {c for c, *_ in CASES} == set(COMPARATORS)


@pytest.mark.parametrize("comparator", sorted(COMPARATORS))
@pytest.mark.parametrize("no_data", ["inconclusive", "error"])
def test_it_never_passes_no_data(comparator, no_data):
    g = gate(comparator=comparator, threshold=0, no_data=no_data)
    assert ev.judge(g, reading(None)).phase != ev.SUCCESSFUL
    standing = run(g, [reading(None)] * 6)
    assert standing.phase != ev.SUCCESSFUL
    verdict = ev.run_phase([g], {g.id: standing}, hours_covered=48, planned_hours=48)
    assert verdict.phase != ev.SUCCESSFUL


# --------------------------------------------------------------------------- run level


def test_it_counts_measurements_as_argo_does():
    g = gate()
    standing = run(g, [reading(0.97), reading(0.9), reading(None), SourceError("down")])
    assert (standing.successful, standing.failed, standing.inconclusive, standing.errors) == (
        1, 1, 1, 1,
    )  # fmt: skip
    assert standing.consecutive_errors == 1


def test_it_puts_a_gate_in_error_at_the_consecutive_error_limit():
    g = gate(max_consecutive_errors=3)
    standing = run(g, [reading(0.99), SourceError("down"), SourceError("down")])
    assert standing.phase == ev.INCONCLUSIVE  # below the limit: not decided, not passed
    assert standing.consecutive_errors == 2
    standing = ev.standing_update(g, standing, ev.judge(g, SourceError("down")))
    assert standing.phase == ev.ERROR
    assert "3 consecutive errors reach the limit 3" in standing.message


def test_it_resets_consecutive_errors_on_a_reading():
    g = gate(max_consecutive_errors=2)
    standing = run(g, [SourceError("down"), reading(0.99), SourceError("down"), reading(0.98)])
    assert standing.consecutive_errors == 0
    assert standing.phase == ev.SUCCESSFUL
    assert standing.errors == 2


def test_it_lets_the_latest_measurement_decide_a_sustained_major_gate():
    g = gate(severity="major")
    assert run(g, [reading(0.9), reading(0.97)]).phase == ev.SUCCESSFUL
    assert run(g, [reading(0.97), reading(0.9)]).phase == ev.FAILED


def test_it_keeps_a_critical_gate_failed_after_one_failed_measurement():
    g = gate(severity="critical")
    standing = run(g, [reading(0.97), reading(0.9), reading(0.99)])
    assert standing.phase == ev.FAILED
    assert "failed for good" in standing.message


def test_it_fails_a_trailing_window_gate_on_any_failed_measurement():
    g = gate(window="1h", severity="major")
    standing = run(g, [reading(0.97), reading(0.9), reading(0.99)])
    assert standing.phase == ev.FAILED
    assert "failure limit 0" in standing.message


def test_it_fails_the_run_at_once_on_a_critical_gate():
    critical = gate(id="denials", severity="critical", comparator="<", threshold=0.01)
    hours = gate(id="soak-hours", comparator=">=", threshold=48)
    standings = {
        "denials": run(critical, [reading(0.2)]),
        "soak-hours": run(hours, [reading(1)]),
    }
    verdict = ev.run_phase([critical, hours], standings, hours_covered=1, planned_hours=48)
    assert (verdict.phase, verdict.finished) == (ev.FAILED, True)
    assert verdict.message.startswith("critical gate denials failed: denials: 0.2 is not < 0.01")


def test_it_errors_the_run_at_once_on_a_critical_gate_in_error():
    critical = gate(id="denials", severity="critical", max_consecutive_errors=1)
    standings = {"denials": run(critical, [SourceError("Prometheus down")])}
    verdict = ev.run_phase([critical], standings, hours_covered=1, planned_hours=48)
    assert (verdict.phase, verdict.finished) == (ev.ERROR, True)


def test_it_never_blocks_on_an_advisory_gate():
    advisory = gate(id="dry", severity="critical", advisory=True)
    blocking = gate(id="ok")
    standings = {"dry": run(advisory, [reading(0.1)]), "ok": run(blocking, [reading(0.99)])}
    assert standings["dry"].phase == ev.FAILED  # shown as failed …
    running = ev.run_phase([advisory, blocking], standings, hours_covered=2, planned_hours=48)
    assert running.phase == ev.RUNNING  # … but does not fail the run
    done = ev.run_phase([advisory, blocking], standings, hours_covered=48, planned_hours=48)
    assert done.phase == ev.SUCCESSFUL


def test_it_keeps_running_until_the_planned_hours_are_covered():
    g = gate()
    standings = {g.id: run(g, [reading(0.99)])}
    assert ev.run_phase([g], standings, hours_covered=47.9, planned_hours=48).phase == ev.RUNNING
    verdict = ev.run_phase([g], standings, hours_covered=48, planned_hours=48)
    assert (verdict.phase, verdict.finished) == (ev.SUCCESSFUL, True)
    assert "48.00 of 48 planned hours covered" in verdict.message


def test_it_ends_inconclusive_with_an_inconclusive_blocking_gate():
    ok, unknown = gate(id="ok"), gate(id="unknown")
    standings = {"ok": run(ok, [reading(0.99)]), "unknown": run(unknown, [reading(None)])}
    verdict = ev.run_phase([ok, unknown], standings, hours_covered=48, planned_hours=48)
    assert verdict.phase == ev.INCONCLUSIVE
    assert "inconclusive gates (a person may decide them with a reason): unknown" in (
        verdict.message
    )


def test_it_ends_inconclusive_out_of_time_without_the_hours():
    g = gate()
    standings = {g.id: run(g, [reading(0.99)])}
    verdict = ev.run_phase([g], standings, hours_covered=30, planned_hours=48, out_of_time=True)
    assert (verdict.phase, verdict.finished) == (ev.INCONCLUSIVE, True)
    assert "out of time" in verdict.message


def test_it_ends_failed_with_a_failed_major_gate_once_the_hours_are_covered():
    g = gate(severity="major")
    standings = {g.id: run(g, [reading(0.5)])}
    assert ev.run_phase([g], standings, hours_covered=10, planned_hours=48).phase == ev.RUNNING
    assert ev.run_phase([g], standings, hours_covered=48, planned_hours=48).phase == ev.FAILED


def test_it_counts_a_gate_never_measured_as_undecided():
    g = gate()
    verdict = ev.run_phase([g], {}, hours_covered=48, planned_hours=48)
    assert verdict.phase == ev.INCONCLUSIVE


# --------------------------------------------------------------------------- coverage


def test_it_covers_the_time_since_the_previous_snapshot_capped_at_two_intervals():
    assert ev.coverage(0, 3600, complete=True, interval_seconds=3600) == 1.0
    assert ev.coverage(0, 5 * 3600, complete=True, interval_seconds=3600) == 2.0
    assert ev.coverage(0, 3600, complete=False, interval_seconds=3600) == 0.0
    assert ev.coverage(None, 3600, complete=True, interval_seconds=3600) == 0.0


def test_it_calls_a_snapshot_complete_only_with_every_blocking_hourly_gate_read():
    metric = gate(id="m", source="metrics", sli="x", query="q")
    advisory = gate(id="a", source="probe", probe="facade_smoke", advisory=True)
    health = gate(id="h", source="health", key="ruff.hot_path")
    read = {"m": ev.judge(metric, reading(1.0))}
    assert ev.snapshot_complete([metric, advisory, health], read)
    missing = {"m": ev.judge(metric, reading(None))}
    assert not ev.snapshot_complete([metric, advisory, health], missing)
    errored = {"m": ev.judge(metric, SourceError("x"))}
    assert not ev.snapshot_complete([metric], errored)


def test_it_reads_a_figure_still_growing_as_running_not_failed():
    hours = gate(id="soak-hours", comparator=">=", threshold=48)
    verdict = ev.judge(hours, reading(12, in_progress=True))
    assert verdict.phase == ev.RUNNING
    assert "12, not yet >= 48" in verdict.message
    standing = ev.standing_update(hours, None, verdict)
    assert standing.phase == ev.RUNNING and standing.failed == 0
    # Once the soak may not go on, the same reading fails.
    assert ev.judge(hours, reading(12)).phase == ev.FAILED

"""Circuit breaker: resilience4j's closed / open / half-open over a count window."""

from __future__ import annotations

import asyncio

import pytest

from matriz.engine.breaker import (
    BreakerConfig,
    BreakerState,
    CallNotPermittedError,
    CircuitBreaker,
)
from matriz.engine.clock import ManualClock
from matriz.engine.orchestrator import Orchestrator, StageSpec
from matriz.engine.stages import LinkStatus, Stage
from tests.matriz.engine.helpers import EchoNode, RaisingNode, run

FAST = 0.001


def make(clock: ManualClock | None = None, **overrides: float) -> CircuitBreaker:
    config = BreakerConfig(
        **{
            "failure_rate_threshold": 50.0,
            "slow_call_rate_threshold": 80.0,
            "slow_call_duration_s": 0.1,
            "sliding_window_size": 10,
            "minimum_number_of_calls": 4,
            "wait_duration_in_open_s": 5.0,
            "permitted_calls_in_half_open": 2,
            **overrides,
        }
    )
    return CircuitBreaker("node.a", config, clock=clock or ManualClock())


def record(breaker: CircuitBreaker, outcomes: str, duration_s: float = FAST) -> None:
    """'s' success, 'f' failure, 'w' slow success; each takes a permission first."""
    for outcome in outcomes:
        assert breaker.acquire_permission(), f"refused before {outcome!r}"
        if outcome == "f":
            breaker.record_failure(duration_s)
        else:
            breaker.record_success(1.0 if outcome == "w" else duration_s)


def trip(breaker: CircuitBreaker) -> None:
    record(breaker, "ffff")
    assert breaker.state is BreakerState.OPEN


def test_it_trips_on_failure_rate() -> None:
    breaker = make()
    record(breaker, "sfsf")  # 50 % of 4 calls: the threshold is inclusive
    assert breaker.state is BreakerState.OPEN
    assert breaker.trips == 1
    assert not breaker.acquire_permission()


def test_it_stays_closed_below_the_failure_rate() -> None:
    breaker = make()
    record(breaker, "ssfsssfsss")  # 20 %
    assert breaker.state is BreakerState.CLOSED
    assert breaker.rates() == (20.0, 0.0, 10)


def test_it_waits_for_the_minimum_number_of_calls() -> None:
    breaker = make()
    record(breaker, "fff")  # 100 % failures, but only 3 of the 4 calls required
    assert breaker.state is BreakerState.CLOSED
    record(breaker, "f")
    assert breaker.state is BreakerState.OPEN


def test_it_trips_on_slow_call_rate() -> None:
    breaker = make()
    record(breaker, "wwws")  # 75 % slow: below 80 %
    assert breaker.state is BreakerState.CLOSED
    record(breaker, "w")  # 4 slow of 5 = 80 %
    assert breaker.state is BreakerState.OPEN


def test_it_counts_a_slow_failure_as_both() -> None:
    breaker = make(failure_rate_threshold=100.0)
    record(breaker, "fss", duration_s=1.0)
    assert breaker.state is BreakerState.CLOSED
    record(breaker, "s", duration_s=1.0)  # 4 slow of 4 only if the failure counts as slow
    assert breaker.state is BreakerState.OPEN


def test_it_forgets_outcomes_that_slide_out_of_the_window() -> None:
    breaker = make(minimum_number_of_calls=10)
    record(breaker, "ffff")
    record(breaker, "ssssss")  # window: 4 f + 6 s = 40 %
    record(breaker, "ssss")  # the four failures slid out
    assert breaker.rates() == (0.0, 0.0, 10)
    record(breaker, "fffff")  # 5 of last 10 = 50 %
    assert breaker.state is BreakerState.OPEN


def test_it_moves_to_half_open_after_the_wait() -> None:
    clock = ManualClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(4.999)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.is_call_permitted()
    clock.advance(0.001)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.is_call_permitted()


def test_it_permits_only_n_calls_in_half_open() -> None:
    clock = ManualClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(5)
    assert breaker.acquire_permission()
    assert breaker.acquire_permission()
    assert not breaker.acquire_permission()  # two permitted, both taken
    assert not breaker.is_call_permitted()
    breaker.release_permission()  # one abandoned (cancelled): its permit comes back
    assert breaker.acquire_permission()


def test_it_closes_after_good_half_open_calls() -> None:
    clock = ManualClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(5)
    record(breaker, "s")
    assert breaker.state is BreakerState.HALF_OPEN  # judged only once both are in
    record(breaker, "s")
    assert breaker.state is BreakerState.CLOSED
    assert breaker.rates() == (0.0, 0.0, 0)  # a fresh window
    record(breaker, "fff")  # and the minimum number of calls applies again
    assert breaker.state is BreakerState.CLOSED


def test_it_reopens_on_half_open_failure() -> None:
    clock = ManualClock()
    breaker = make(clock)
    trip(breaker)
    clock.advance(5)
    record(breaker, "sf")  # 50 % of the trial calls
    assert breaker.state is BreakerState.OPEN
    assert breaker.trips == 2
    clock.advance(4)
    assert not breaker.is_call_permitted()  # the wait starts over from the re-open


def test_it_ignores_outcomes_of_calls_begun_before_the_trip() -> None:
    breaker = make()
    assert breaker.acquire_permission()  # a call in flight...
    trip(breaker)
    breaker.record_success(FAST)  # ...ends after the trip
    assert breaker.state is BreakerState.OPEN
    assert breaker.rates() == (0.0, 0.0, 0)


def test_it_reports_state_changes_to_listeners() -> None:
    clock = ManualClock()
    breaker = make(clock)
    seen: list[tuple[str, str]] = []
    breaker.add_listener(lambda b, old, new: seen.append((old.value, new.value)))
    breaker.add_listener(lambda b, old, new: 1 / 0)  # a broken observer changes nothing
    trip(breaker)
    clock.advance(5)
    record(breaker, "ss")
    assert seen == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_it_wraps_coroutines_with_call() -> None:
    breaker = make()

    async def boom() -> None:
        raise ValueError("no")

    async def fine(x: int) -> int:
        return x * 2

    async def scenario() -> None:
        assert await breaker.call(fine, 21) == 42
        for _ in range(3):  # 1 success + 3 failures: 75 % of the minimum 4
            with pytest.raises(ValueError):
                await breaker.call(boom)
        with pytest.raises(CallNotPermittedError):
            await breaker.call(fine, 1)

    run(scenario())
    assert breaker.state is BreakerState.OPEN


def test_it_hands_back_the_permit_when_a_call_is_cancelled() -> None:
    clock = ManualClock()
    breaker = make(clock, permitted_calls_in_half_open=1)
    trip(breaker)
    clock.advance(5)

    async def scenario() -> None:
        task = asyncio.create_task(breaker.call(asyncio.sleep, 10))
        await asyncio.sleep(0)
        assert not breaker.is_call_permitted()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(scenario())
    assert breaker.is_call_permitted()
    assert breaker.state is BreakerState.HALF_OPEN


def test_it_rejects_nonsense_config() -> None:
    with pytest.raises(ValueError):
        BreakerConfig(failure_rate_threshold=0)
    with pytest.raises(ValueError):
        BreakerConfig(permitted_calls_in_half_open=0)
    with pytest.raises(ValueError):
        BreakerConfig(sliding_window_size=0)


def test_it_uses_the_fallback_node_when_open(null_recorder) -> None:
    clock = ManualClock()
    primary = RaisingNode("action.primary", Stage.ACTION)
    fallback = EchoNode("action.fallback", Stage.ACTION, answer="from fallback")
    pipeline = Orchestrator(
        [StageSpec(Stage.ACTION, (primary,), critical=True)],
        breaker_config=BreakerConfig(minimum_number_of_calls=2, wait_duration_in_open_s=30),
        fallbacks={"action.primary": fallback},
        recorder=null_recorder,
        clock=clock,
    )
    first = run(pipeline.run("q"))
    second = run(pipeline.run("q"))
    assert not first.ok and not second.ok  # two failures: 100 % of the minimum 2
    assert pipeline.breakers["action.primary"].state is BreakerState.OPEN

    third = run(pipeline.run("q"))
    link = third.chain[3]
    assert third.ok and third.answer == "from fallback"
    assert (link.node, link.fallback_for, link.status) == (
        "action.fallback",
        "action.primary",
        LinkStatus.OK,
    )
    assert primary.calls == 2 and fallback.calls == 1

    clock.advance(30)  # half-open: the primary is tried again
    run(pipeline.run("q"))
    assert primary.calls == 3


def test_it_skips_a_stage_whose_breaker_is_open_without_fallback(null_recorder) -> None:
    flaky = RaisingNode("thought.flaky", Stage.THOUGHT)
    pipeline = Orchestrator(
        [
            StageSpec(Stage.THOUGHT, (flaky,)),
            StageSpec(Stage.ACTION, (EchoNode("action.ok", Stage.ACTION, answer="a"),)),
        ],
        breaker_config=BreakerConfig(minimum_number_of_calls=1),
        recorder=null_recorder,
        clock=ManualClock(),
    )
    run(pipeline.run("q"))
    result = run(pipeline.run("q"))
    thought = result.chain[2]
    assert result.ok and result.answer == "a"
    assert (thought.status, thought.error_type, thought.node) == (
        LinkStatus.SKIPPED,
        "CircuitOpen",
        "thought.flaky",
    )
    assert flaky.calls == 1

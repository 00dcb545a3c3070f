"""Circuit breaker per node, after resilience4j's model.

Closed → open when, over a count-based sliding window holding at least
``minimum_number_of_calls`` outcomes, the failure rate or the slow-call rate
reaches its threshold. Open refuses calls for ``wait_duration_in_open_s``, then
half-open lets ``permitted_calls_in_half_open`` trial calls through and judges
them alone: below both thresholds → closed, otherwise open again. A breaker may
name a fallback node that callers use while it refuses calls.

Why it is written here: no maintained Python library offers these windows with
asyncio — pybreaker, circuitbreaker and purgatory count consecutive failures
only, which trips on a short burst and never on a steady 40 % error rate or on
calls that succeed too slowly.

The clock is injectable; state changes are reported to listeners so metrics can
observe trips. A lock keeps it safe when sync callers share one across threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from matriz.engine.clock import Clock

log = logging.getLogger(__name__)
T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


# Gauge encoding: higher is worse, so "livemax" across processes shows the worst.
STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}
StateListener = Callable[["CircuitBreaker", BreakerState, BreakerState], None]


class CallNotPermittedError(RuntimeError):
    def __init__(self, name: str) -> None:
        super().__init__(f"circuit breaker {name!r} is open")
        self.name = name


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    failure_rate_threshold: float = 50.0  # percent, like resilience4j
    slow_call_rate_threshold: float = 100.0  # percent; 100 = only if every call is slow
    slow_call_duration_s: float = 1.0
    sliding_window_size: int = 20
    minimum_number_of_calls: int = 10
    wait_duration_in_open_s: float = 30.0
    permitted_calls_in_half_open: int = 3

    def __post_init__(self) -> None:
        for rate in (self.failure_rate_threshold, self.slow_call_rate_threshold):
            if not 0 < rate <= 100:
                raise ValueError("rate thresholds are percentages in (0, 100]")
        if min(self.sliding_window_size, self.minimum_number_of_calls) < 1:
            raise ValueError("window size and minimum number of calls must be >= 1")
        if self.permitted_calls_in_half_open < 1:
            raise ValueError("half-open needs at least one permitted call")
        if self.wait_duration_in_open_s < 0 or self.slow_call_duration_s <= 0:
            raise ValueError("durations must be positive")


class _Window:
    """Last ``size`` outcomes with running failure / slow counts (O(1) per record)."""

    __slots__ = ("failed", "outcomes", "slow")

    def __init__(self, size: int) -> None:
        self.outcomes: deque[tuple[bool, bool]] = deque(maxlen=size)
        self.failed = 0
        self.slow = 0

    def add(self, failed: bool, slow: bool) -> None:
        if len(self.outcomes) == self.outcomes.maxlen:
            old_failed, old_slow = self.outcomes[0]
            self.failed -= old_failed
            self.slow -= old_slow
        self.outcomes.append((failed, slow))
        self.failed += failed
        self.slow += slow


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        config: BreakerConfig | None = None,
        *,
        clock: Clock = time.monotonic,
        fallback: Any = None,
        listeners: Iterable[StateListener] = (),
    ) -> None:
        self.name = name
        self.config = config or BreakerConfig()
        self.fallback = fallback  # a node the orchestrator runs while this one refuses
        self.trips = 0
        self._clock = clock
        self._listeners = list(listeners)
        self._lock = threading.RLock()
        self._state = BreakerState.CLOSED
        self._opened_at = 0.0
        self._half_open_permits = 0
        self._window = _Window(self.config.sliding_window_size)
        self._min_calls = self.config.minimum_number_of_calls

    def add_listener(self, listener: StateListener) -> None:
        self._listeners.append(listener)

    @property
    def state(self) -> BreakerState:
        with self._lock:
            self._maybe_half_open()
            return self._state

    def rates(self) -> tuple[float, float, int]:
        """(failure %, slow-call %, calls buffered) of the current window."""
        with self._lock:
            n = len(self._window.outcomes)
            if not n:
                return 0.0, 0.0, 0
            return 100.0 * self._window.failed / n, 100.0 * self._window.slow / n, n

    def is_call_permitted(self) -> bool:
        """Would a call be let through now? Does not consume a half-open permit."""
        with self._lock:
            self._maybe_half_open()
            if self._state is BreakerState.HALF_OPEN:
                return self._half_open_permits > 0
            return self._state is BreakerState.CLOSED

    def acquire_permission(self) -> bool:
        """Take the right to make one call; pair with a record_* or release."""
        with self._lock:
            self._maybe_half_open()
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.HALF_OPEN and self._half_open_permits > 0:
                self._half_open_permits -= 1
                return True
            return False

    def release_permission(self) -> None:
        """Give back a permit for a call abandoned without an outcome (e.g. cancelled)."""
        with self._lock:
            if self._state is BreakerState.HALF_OPEN:
                self._half_open_permits += 1

    def record_success(self, duration_s: float) -> None:
        self._record(failed=False, duration_s=duration_s)

    def record_failure(self, duration_s: float) -> None:
        self._record(failed=True, duration_s=duration_s)

    async def call(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Run ``await fn(*args, **kwargs)`` under the breaker."""
        if not self.acquire_permission():
            raise CallNotPermittedError(self.name)
        started = time.perf_counter()
        try:
            result = await fn(*args, **kwargs)
        except Exception:
            self.record_failure(time.perf_counter() - started)
            raise
        except BaseException:  # cancelled: not the callee's fault
            self.release_permission()
            raise
        self.record_success(time.perf_counter() - started)
        return result

    def reset(self) -> None:
        with self._lock:
            self._transition(BreakerState.CLOSED)

    def _record(self, *, failed: bool, duration_s: float) -> None:
        with self._lock:
            self._maybe_half_open()
            if self._state is BreakerState.OPEN:
                return  # a call that began before the trip: its verdict is already in
            self._window.add(failed, duration_s > self.config.slow_call_duration_s)
            if len(self._window.outcomes) < self._min_calls:
                return
            failure_rate, slow_rate, _ = self.rates()
            if (
                failure_rate >= self.config.failure_rate_threshold
                or slow_rate >= self.config.slow_call_rate_threshold
            ):
                self._transition(BreakerState.OPEN)
            elif self._state is BreakerState.HALF_OPEN:
                self._transition(BreakerState.CLOSED)

    def _maybe_half_open(self) -> None:
        if (
            self._state is BreakerState.OPEN
            and self._clock() - self._opened_at >= self.config.wait_duration_in_open_s
        ):
            self._transition(BreakerState.HALF_OPEN)

    def _transition(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if new is BreakerState.HALF_OPEN:
            # The trial calls are judged alone: a window exactly their size.
            size = self.config.permitted_calls_in_half_open
            self._window, self._min_calls, self._half_open_permits = _Window(size), size, size
        else:
            size = self.config.sliding_window_size
            self._window, self._min_calls = _Window(size), self.config.minimum_number_of_calls
        if new is BreakerState.OPEN:
            self._opened_at = self._clock()
            self.trips += 1
        if old is not new:
            log.info("breaker %s: %s -> %s", self.name, old.value, new.value)
            for listener in self._listeners:
                try:
                    listener(self, old, new)
                except Exception:  # a broken observer must not break the breaker
                    log.exception("breaker listener failed for %s", self.name)

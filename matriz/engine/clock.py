"""Clocks the engine reads, injectable so tests and simulations control time.

Router, breaker and folding policy take a ``clock`` (a zero-argument callable
returning seconds, monotonic). Production passes ``time.monotonic``; tests pass a
:class:`ManualClock` and move it by hand, so a 20 s recovery runs in microseconds.
"""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]


class ManualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backwards: monotonic clocks don't)."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        self._now += seconds
        return self._now

    def set(self, now: float) -> None:
        if now < self._now:
            raise ValueError("a monotonic clock cannot go back")
        self._now = float(now)

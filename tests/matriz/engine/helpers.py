"""Helpers shared by the engine tests: stores, fake nodes, a loop runner."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from matriz.engine.memory import MemoryStore
from matriz.engine.stages import QueryContext, Stage, StageResult

T = TypeVar("T")
TOPICS = ["release train", "canary rollout", "guardian policy", "soak metrics", "memory fold"]


def make_store(count: int = 200, *, index: str = "default") -> MemoryStore:
    """A store with ``count`` deterministic memories about a few release topics."""
    store = MemoryStore(track_metrics=False)
    store.create_index(index)
    store.add(
        index,
        [
            {
                "id": f"mem-{i:05d}",
                "text": f"Note {i}: the {TOPICS[i % 5]} needs step {i % 7}. Owner {i % 3}.",
                "metadata": {"topic": TOPICS[i % 5], "owner": i % 3},
            }
            for i in range(count)
        ],
    )
    return store


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh loop (these tests do not need pytest-asyncio)."""
    return asyncio.run(coro)


class EchoNode:
    """Answers at once with a fixed output; counts its calls."""

    def __init__(self, name: str, stage: Stage, output: Any = "ok", answer: str | None = None):
        self.name = name
        self.stage = stage
        self.output = output
        self.answer = answer
        self.calls = 0

    async def run(self, ctx: QueryContext) -> StageResult:
        self.calls += 1
        return StageResult(output=self.output, answer=self.answer)


class RaisingNode(EchoNode):
    def __init__(self, name: str, stage: Stage, exc: Exception | None = None):
        super().__init__(name, stage)
        self.exc = exc or RuntimeError("node exploded")

    async def run(self, ctx: QueryContext) -> StageResult:
        self.calls += 1
        raise self.exc


class HangingNode(EchoNode):
    """Never answers; records whether it was cancelled."""

    def __init__(self, name: str, stage: Stage):
        super().__init__(name, stage)
        self.cancelled = False

    async def run(self, ctx: QueryContext) -> StageResult:
        self.calls += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")


class SlowNode(EchoNode):
    def __init__(self, name: str, stage: Stage, delay_s: float, output: Any = "slow"):
        super().__init__(name, stage, output)
        self.delay_s = delay_s

    async def run(self, ctx: QueryContext) -> StageResult:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return StageResult(output=self.output)


def six_echo_nodes() -> dict[Stage, EchoNode]:
    return {stage: EchoNode(f"{stage.value}.echo", stage) for stage in Stage}

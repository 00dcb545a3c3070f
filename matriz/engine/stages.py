"""Stages, nodes and the reasoning chain of one MATRIZ query.

A query passes six stages in a fixed order. Each stage is served by a node (a
plugin). Nodes never mutate the :class:`QueryContext` themselves: they return a
:class:`StageResult` and the orchestrator applies it, so a node cancelled by a
timeout half-way cannot leave the context half-written.

The reasoning chain (one :class:`ChainLink` per stage) is part of the answer
that API consumers receive, so it serialises to plain JSON-able dicts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from matriz.engine.memory import RecallHit


class Stage(StrEnum):
    """The six stages, declared in pipeline order."""

    MEMORY = "memory"
    ATTENTION = "attention"
    THOUGHT = "thought"
    ACTION = "action"
    DECISION = "decision"
    AWARENESS = "awareness"


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)


class LinkStatus(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ChainLink:
    """What happened at one stage: who ran it, how long, what it used, what failed.

    ``fallback_for`` names the node whose open circuit breaker sent the call to
    ``node`` instead; it is ``None`` on the normal path.
    """

    stage: Stage
    node: str | None
    status: LinkStatus
    duration_ms: float
    memory_ids: tuple[str, ...] = ()
    error_type: str | None = None
    error_message: str | None = None
    fallback_for: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is LinkStatus.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage.value,
            "node": self.node,
            "status": self.status.value,
            "duration_ms": round(self.duration_ms, 3),
            "memory_ids": list(self.memory_ids),
            "error_type": self.error_type,
            "error_message": self.error_message,
            "fallback_for": self.fallback_for,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChainLink:
        return cls(
            stage=Stage(data["stage"]),
            node=data.get("node"),
            status=LinkStatus(data["status"]),
            duration_ms=float(data["duration_ms"]),
            memory_ids=tuple(data.get("memory_ids") or ()),
            error_type=data.get("error_type"),
            error_message=data.get("error_message"),
            fallback_for=data.get("fallback_for"),
        )


@dataclass(frozen=True, slots=True)
class StageResult:
    """What a node hands back.

    ``memories``, when not ``None``, replaces the context's recalled memories
    (the memory stage uses it); ``answer``, when not ``None``, replaces the
    draft answer; ``memory_ids`` are the memories this node actually used and
    land in the chain.
    """

    output: Any = None
    memory_ids: tuple[str, ...] = ()
    memories: tuple[RecallHit, ...] | None = None
    answer: str | None = None


@dataclass(slots=True)
class QueryContext:
    """Everything a node may read about the query in flight.

    ``deadline`` is absolute, on the event loop's clock (``loop.time()``), so
    it composes directly with ``asyncio.timeout_at``.
    """

    query: str
    query_id: str
    index: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    deadline: float | None = None
    memories: tuple[RecallHit, ...] = ()
    results: dict[Stage, Any] = field(default_factory=dict)
    chain: list[ChainLink] = field(default_factory=list)
    answer: str | None = None

    def time_left(self) -> float | None:
        """Seconds until the end-to-end deadline (negative once past), or None."""
        if self.deadline is None:
            return None
        return self.deadline - asyncio.get_running_loop().time()

    def chain_dicts(self) -> list[dict[str, Any]]:
        return [link.to_dict() for link in self.chain]


@runtime_checkable
class CognitiveNode(Protocol):
    """A plugin serving one stage.

    ``run`` must be cooperative: the orchestrator enforces timeouts by
    cancelling it, so it should await rather than block, and must let
    ``CancelledError`` through.
    """

    name: str
    stage: Stage

    async def run(self, ctx: QueryContext) -> StageResult: ...


class FunctionNode:
    """Adapts an ``async def fn(ctx)`` into a node: handy for tests and small plugins."""

    def __init__(
        self,
        name: str,
        stage: Stage | str,
        fn: Callable[[QueryContext], Awaitable[StageResult | Any]],
    ) -> None:
        self.name = name
        self.stage = Stage(stage)
        self._fn = fn

    async def run(self, ctx: QueryContext) -> StageResult:
        result = await self._fn(ctx)
        return result if isinstance(result, StageResult) else StageResult(output=result)

    def __repr__(self) -> str:
        return f"FunctionNode({self.name!r}, {self.stage.value!r})"

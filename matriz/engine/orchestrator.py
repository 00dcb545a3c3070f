"""Runs one query through the six stages, within its budgets, and says what happened.

Per query: one ``matriz.query`` span, and a ``stage.<name>`` child span for
every stage reached before the pipeline stops (attributes ``matriz.stage``,
``matriz.node``, ``matriz.duration_ms``, ``matriz.status``). The query text is
never put on a span: it may hold personal data.

Failure semantics:

* each stage runs under ``asyncio.timeout_at(min(stage timeout, deadline))``;
* a non-critical stage that fails, times out or is refused by its breaker is
  recorded in the chain (and in metrics, and as a ``stage_error`` span event)
  and the pipeline goes on;
* a critical one stops the query: :class:`QueryResult` then carries a
  :class:`QueryError` and the chain, and every later stage is linked as
  skipped — ``run`` does not raise for node failures;
* once the end-to-end deadline is spent, remaining stages are skipped
  (``DeadlineExceeded``), which fails the query only if one of them is critical.

Nodes are awaited inline under the timeout, never spawned as tasks, so a
timeout cancels the node's own coroutine and nothing is left running once
``run`` returns. A caller cancelling ``run`` gets ``CancelledError`` as usual,
with spans ended and breaker permits handed back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from matriz.engine.breaker import BreakerConfig, CircuitBreaker
from matriz.engine.clock import Clock
from matriz.engine.metrics import PipelineRecorder, PrometheusRecorder
from matriz.engine.router import AdaptiveRouter
from matriz.engine.stages import (
    STAGE_ORDER,
    ChainLink,
    CognitiveNode,
    LinkStatus,
    QueryContext,
    Stage,
    StageResult,
)

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("matriz")

# Failure types as they appear in chain links and in matriz_stage_fail_total{type}.
STAGE_TIMEOUT = "StageTimeout"
DEADLINE_EXCEEDED = "DeadlineExceeded"
CIRCUIT_OPEN = "CircuitOpen"
_METRIC_TYPES = {
    STAGE_TIMEOUT: "timeout",
    DEADLINE_EXCEEDED: "deadline_exceeded",
    CIRCUIT_OPEN: "circuit_open",
}


@dataclass(frozen=True, slots=True)
class StageSpec:
    """How one stage runs: its candidate nodes, time budget and criticality."""

    stage: Stage
    nodes: tuple[CognitiveNode, ...]
    timeout_s: float = 0.25
    critical: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", Stage(self.stage))
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if self.timeout_s <= 0:
            raise ValueError("stage timeout must be positive")
        for node in self.nodes:
            if Stage(node.stage) is not self.stage:
                raise ValueError(f"node {node.name!r} serves {node.stage}, not {self.stage}")
        names = [node.name for node in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate node names in stage {self.stage}: {names}")


@dataclass(frozen=True, slots=True)
class QueryError:
    """Why a query stopped: the stage, the node, and a stable ``kind``."""

    stage: Stage
    node: str | None
    kind: str  # "node_error" | "stage_timeout" | "deadline_exceeded" | "circuit_open" | "no_node"
    error_type: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage.value,
            "node": self.node,
            "kind": self.kind,
            "error_type": self.error_type,
            "message": self.message,
        }


@dataclass(slots=True)
class QueryResult:
    query_id: str
    answer: str | None
    chain: list[ChainLink]
    error: QueryError | None = None
    duration_ms: float = 0.0
    trace_id: str | None = None
    memories: tuple[Any, ...] = ()
    outputs: dict[Stage, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def degraded(self) -> bool:
        """Answered, but some stage did not finish ok."""
        return self.ok and any(not link.ok for link in self.chain)

    @property
    def status(self) -> str:
        return "error" if not self.ok else "degraded" if self.degraded else "ok"

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able form for API consumers (stage outputs stay internal)."""
        return {
            "query_id": self.query_id,
            "status": self.status,
            "answer": self.answer,
            "error": self.error.to_dict() if self.error else None,
            "duration_ms": round(self.duration_ms, 3),
            "trace_id": self.trace_id,
            "memories": [{"id": m.id, "score": round(m.score, 6)} for m in self.memories],
            "chain": [link.to_dict() for link in self.chain],
        }


class Orchestrator:
    def __init__(
        self,
        stages: Iterable[StageSpec],
        *,
        deadline_s: float = 1.0,
        router: AdaptiveRouter | None = None,
        breaker_config: BreakerConfig | None = None,
        fallbacks: Mapping[str, CognitiveNode] | None = None,
        recorder: PipelineRecorder | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """Build a pipeline.

        ``breaker_config`` (None: no breakers) gives every node a circuit
        breaker; ``fallbacks`` maps a node name to the node that serves its
        stage while that breaker is open. ``recorder=None`` reports to
        Prometheus; pass :class:`NullRecorder` to measure without.
        """
        self.specs: dict[Stage, StageSpec] = {}
        for spec in stages:
            if spec.stage in self.specs:
                raise ValueError(f"stage {spec.stage} configured twice")
            self.specs[spec.stage] = spec
        # Router statistics and breakers are keyed by node name.
        names = [node.name for spec in self.specs.values() for node in spec.nodes]
        if len(set(names)) != len(names):
            raise ValueError(f"node names must be unique across stages: {sorted(names)}")
        if deadline_s <= 0:
            raise ValueError("deadline must be positive")
        self.deadline_s = deadline_s
        self.router = router if router is not None else AdaptiveRouter(clock=clock)
        self.recorder: PipelineRecorder = recorder if recorder is not None else PrometheusRecorder()
        self.breakers: dict[str, CircuitBreaker] = {}
        self._clock = clock
        self._breakers_lock = threading.Lock()
        fallbacks = dict(fallbacks or {})
        if breaker_config is not None:
            for spec in self.specs.values():
                for node in spec.nodes:
                    breaker = CircuitBreaker(
                        node.name,
                        breaker_config,
                        clock=clock,
                        fallback=fallbacks.pop(node.name, None),
                    )
                    self.recorder.watch_breaker(breaker)
                    self.breakers[node.name] = breaker
        if fallbacks:
            raise ValueError(f"fallbacks for nodes without a breaker: {sorted(fallbacks)}")

    def external_breaker(
        self, name: str, config: BreakerConfig, *, fallback: Any = None
    ) -> CircuitBreaker:
        """The breaker of a node that runs outside the six stages (an upstream model).

        Made once per name, watched by this pipeline's recorder and kept in
        :attr:`breakers`, so it reports ``matriz_breaker_state{node=name}``
        and is listed beside the stage nodes' breakers; the caller drives it
        (``acquire_permission`` / ``record_*``) and runs ``fallback`` itself.
        """
        with self._breakers_lock:
            breaker = self.breakers.get(name)
            if breaker is None:
                breaker = CircuitBreaker(name, config, clock=self._clock, fallback=fallback)
                self.recorder.watch_breaker(breaker)
                self.breakers[name] = breaker
            return breaker

    def nodes(self) -> list[CognitiveNode]:
        return [node for spec in self.specs.values() for node in spec.nodes]

    def run_sync(self, query: str, **kwargs: Any) -> QueryResult:
        """Run from synchronous code (a plain Django view, a management command)."""
        return asyncio.run(self.run(query, **kwargs))

    async def run(
        self,
        query: str,
        *,
        index: str | None = None,
        params: Mapping[str, Any] | None = None,
        deadline_s: float | None = None,
        query_id: str | None = None,
    ) -> QueryResult:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        budget = self.deadline_s if deadline_s is None else deadline_s
        ctx = QueryContext(
            query=query,
            query_id=query_id or uuid.uuid4().hex,
            index=index,
            params=dict(params or {}),
            deadline=loop.time() + budget,
        )
        error: QueryError | None = None
        with _tracer.start_as_current_span(
            "matriz.query",
            attributes={"matriz.query_id": ctx.query_id, "matriz.deadline_ms": budget * 1000.0},
        ) as query_span:
            if index is not None:
                query_span.set_attribute("matriz.index", index)
            for stage in STAGE_ORDER:
                if error is not None:
                    ctx.chain.append(
                        ChainLink(
                            stage,
                            None,
                            LinkStatus.SKIPPED,
                            0.0,
                            error_message=f"not run: query stopped at {error.stage.value}",
                        )
                    )
                    continue
                spec = self.specs.get(stage)
                link = await self._run_stage(stage, spec, ctx, loop)
                ctx.chain.append(link)
                if not link.ok and spec is not None and spec.critical:
                    error = _query_error(link)
            duration_s = time.perf_counter() - started
            result = QueryResult(
                query_id=ctx.query_id,
                answer=ctx.answer,
                chain=ctx.chain,
                error=error,
                duration_ms=duration_s * 1000.0,
                memories=ctx.memories,
                outputs=ctx.results,
            )
            span_context = query_span.get_span_context()
            if span_context.is_valid:
                result.trace_id = format(span_context.trace_id, "032x")
            query_span.set_attributes(
                {"matriz.status": result.status, "matriz.duration_ms": result.duration_ms}
            )
            if error is not None:
                query_span.set_status(Status(StatusCode.ERROR, f"{error.kind} at {error.stage}"))
        self.recorder.query_finished(duration_s)
        return result

    async def _run_stage(
        self,
        stage: Stage,
        spec: StageSpec | None,
        ctx: QueryContext,
        loop: asyncio.AbstractEventLoop,
    ) -> ChainLink:
        with _tracer.start_as_current_span(
            f"stage.{stage.value}", attributes={"matriz.stage": stage.value}
        ) as span:
            link, ran = await self._attempt(stage, spec, ctx, loop)
            attributes: dict[str, Any] = {
                "matriz.node": link.node or "",
                "matriz.duration_ms": link.duration_ms,
                "matriz.status": link.status.value,
            }
            if link.memory_ids:
                attributes["matriz.memory_ids"] = list(link.memory_ids)
            if link.fallback_for:
                attributes["matriz.fallback_for"] = link.fallback_for
            span.set_attributes(attributes)  # one lock round-trip instead of five
            if not link.ok and link.error_type is not None:
                span.add_event(
                    "stage_error",
                    {
                        "matriz.stage": stage.value,
                        "error.type": link.error_type,
                        "error.message": link.error_message or "",
                    },
                )
                if link.status is not LinkStatus.SKIPPED:
                    span.set_status(Status(StatusCode.ERROR, link.error_type))
        if spec is not None and spec.nodes:
            failure = None if link.ok else _METRIC_TYPES.get(link.error_type or "", link.error_type)
            self.recorder.stage_finished(
                stage.value, failure, link.duration_ms / 1000.0 if ran else None
            )
        return link

    async def _attempt(
        self,
        stage: Stage,
        spec: StageSpec | None,
        ctx: QueryContext,
        loop: asyncio.AbstractEventLoop,
    ) -> tuple[ChainLink, bool]:
        """Run the stage's chosen node; returns its link and whether a node ran."""
        if spec is None or not spec.nodes:
            return ChainLink(stage, None, LinkStatus.SKIPPED, 0.0, error_message="no node"), False
        deadline = ctx.deadline if ctx.deadline is not None else float("inf")
        if deadline - loop.time() <= 0:
            return ChainLink(
                stage,
                None,
                LinkStatus.SKIPPED,
                0.0,
                error_type=DEADLINE_EXCEEDED,
                error_message="end-to-end deadline spent before the stage started",
            ), False
        node, fallback_for = self._choose(spec)
        if node is None:
            return ChainLink(
                stage,
                fallback_for,
                LinkStatus.SKIPPED,
                0.0,
                error_type=CIRCUIT_OPEN,
                error_message=f"circuit open for {fallback_for}, no fallback",
            ), False
        breaker = self.breakers.get(node.name) if fallback_for is None else None
        if breaker is not None and not breaker.acquire_permission():
            # Lost the last half-open permit since _choose looked: treat as open.
            if breaker.fallback is None:
                return ChainLink(
                    stage,
                    node.name,
                    LinkStatus.SKIPPED,
                    0.0,
                    error_type=CIRCUIT_OPEN,
                    error_message=f"circuit open for {node.name}, no fallback",
                ), False
            node, fallback_for, breaker = breaker.fallback, node.name, None

        stage_deadline = loop.time() + spec.timeout_s
        self.router.start(node.name)
        started = time.perf_counter()
        status, error_type, message, result = LinkStatus.OK, None, None, None
        timeout = asyncio.timeout_at(min(stage_deadline, deadline))
        try:
            async with timeout:
                result = await node.run(ctx)
        except TimeoutError as exc:
            if timeout.expired():
                status = LinkStatus.TIMEOUT
                if deadline <= stage_deadline:
                    error_type = DEADLINE_EXCEEDED
                    message = f"{node.name} was stopped by the end-to-end deadline"
                else:
                    error_type = STAGE_TIMEOUT
                    message = f"{node.name} did not answer within {spec.timeout_s * 1000:.0f} ms"
            else:  # the node's own TimeoutError: an error like any other
                status, error_type, message = LinkStatus.ERROR, type(exc).__name__, str(exc)
        except asyncio.CancelledError:
            self.router.cancel(node.name)
            if breaker is not None:
                breaker.release_permission()
            raise
        except Exception as exc:
            status, error_type, message = LinkStatus.ERROR, type(exc).__name__, str(exc)
            log.warning("stage %s node %s failed: %s: %s", stage, node.name, error_type, exc)
        elapsed = time.perf_counter() - started

        ok = status is LinkStatus.OK
        self.router.finish(node.name, elapsed, ok=ok)
        if breaker is not None:
            (breaker.record_success if ok else breaker.record_failure)(elapsed)
        memory_ids: tuple[str, ...] = ()
        if ok:
            if not isinstance(result, StageResult):
                result = StageResult(output=result)
            memory_ids = tuple(result.memory_ids)
            ctx.results[stage] = result.output
            if result.memories is not None:
                ctx.memories = tuple(result.memories)
            if result.answer is not None:
                ctx.answer = result.answer
        link = ChainLink(
            stage,
            node.name,
            status,
            elapsed * 1000.0,
            memory_ids=memory_ids,
            error_type=error_type,
            error_message=message,
            fallback_for=fallback_for,
        )
        return link, True

    def _choose(self, spec: StageSpec) -> tuple[CognitiveNode | None, str | None]:
        """Pick a node whose breaker lets calls through; else the preferred node's fallback.

        Returns (node, fallback_for): ``fallback_for`` names the refused node
        when the fallback serves; with no node at all it is the refused node's name.
        """
        nodes: Sequence[CognitiveNode] = spec.nodes
        allowed = [n for n in nodes if self._permitted(n)] if self.breakers else list(nodes)
        if allowed:
            if len(allowed) == 1:
                return allowed[0], None
            name = self.router.pick([n.name for n in allowed])
            return next(n for n in allowed if n.name == name), None
        first = nodes[0]
        breaker = self.breakers[first.name]
        return breaker.fallback, first.name  # fallback may be None: nothing can serve

    def _permitted(self, node: CognitiveNode) -> bool:
        breaker = self.breakers.get(node.name)
        return breaker is None or breaker.is_call_permitted()


def _query_error(link: ChainLink) -> QueryError:
    if link.status is LinkStatus.TIMEOUT:
        kind = "deadline_exceeded" if link.error_type == DEADLINE_EXCEEDED else "stage_timeout"
    elif link.error_type == DEADLINE_EXCEEDED:
        kind = "deadline_exceeded"
    elif link.error_type == CIRCUIT_OPEN:
        kind = "circuit_open"
    elif link.status is LinkStatus.SKIPPED:
        kind = "no_node"
    else:
        kind = "node_error"
    return QueryError(
        stage=link.stage,
        node=link.node,
        kind=kind,
        error_type=link.error_type,
        message=link.error_message or kind,
    )

"""The default pipeline: built-in nodes wired over a memory store.

Budgets: recall over 10k items takes ~1 ms and the other stages are
microseconds, so 100 ms per stage and 500 ms end to end leave room for slow
machines and for plugins added beside the built-ins, while still failing fast
when something hangs. Only the action stage is critical — without a draft there
is no answer; every other stage may degrade and the answer still goes out,
flagged in the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from matriz.engine.breaker import BreakerConfig
from matriz.engine.memory import MemoryStore
from matriz.engine.metrics import PipelineRecorder
from matriz.engine.nodes import (
    AttentionRankNode,
    ConfidenceDecisionNode,
    LocalAnswerNode,
    MemoryRecallNode,
    SelfCheckNode,
    ThoughtComposeNode,
)
from matriz.engine.orchestrator import Orchestrator, StageSpec
from matriz.engine.router import AdaptiveRouter
from matriz.engine.stages import CognitiveNode, Stage

DEFAULT_STAGE_TIMEOUT_S = 0.1
DEFAULT_DEADLINE_S = 0.5
CRITICAL_STAGES = frozenset({Stage.ACTION})


def build_default_pipeline(
    store: MemoryStore,
    *,
    index: str = "default",
    top_k: int = 8,
    deadline_s: float = DEFAULT_DEADLINE_S,
    stage_timeouts: Mapping[Stage, float] | None = None,
    extra_nodes: Iterable[CognitiveNode] = (),
    breaker_config: BreakerConfig | None = None,
    fallbacks: Mapping[str, CognitiveNode] | None = None,
    router: AdaptiveRouter | None = None,
    recorder: PipelineRecorder | None = None,
) -> Orchestrator:
    """An :class:`Orchestrator` over the built-in nodes (plus ``extra_nodes``).

    ``extra_nodes`` (e.g. plugins resolved from the registry) join the stage
    they declare; a stage with several nodes is served by the adaptive router.
    """
    nodes: dict[Stage, list[CognitiveNode]] = {
        Stage.MEMORY: [MemoryRecallNode(store, index=index, top_k=top_k)],
        Stage.ATTENTION: [AttentionRankNode()],
        Stage.THOUGHT: [ThoughtComposeNode()],
        Stage.ACTION: [LocalAnswerNode()],
        Stage.DECISION: [ConfidenceDecisionNode()],
        Stage.AWARENESS: [SelfCheckNode()],
    }
    for node in extra_nodes:
        nodes[Stage(node.stage)].append(node)
    timeouts = dict(stage_timeouts or {})
    specs = [
        StageSpec(
            stage=stage,
            nodes=tuple(stage_nodes),
            timeout_s=timeouts.get(stage, DEFAULT_STAGE_TIMEOUT_S),
            critical=stage in CRITICAL_STAGES,
        )
        for stage, stage_nodes in nodes.items()
    ]
    return Orchestrator(
        specs,
        deadline_s=deadline_s,
        router=router,
        breaker_config=breaker_config,
        fallbacks=fallbacks,
        recorder=recorder,
    )

"""The default pipeline: built-in nodes over a store, answers from memories."""

from __future__ import annotations

import asyncio

from matriz.engine.memory import MemoryStore, RecallHit
from matriz.engine.nodes import (
    AttentionRankNode,
    ConfidenceDecisionNode,
    MemoryRecallNode,
    ThoughtComposeNode,
)
from matriz.engine.pipeline import build_default_pipeline
from matriz.engine.stages import LinkStatus, QueryContext, Stage, StageResult
from tests.matriz.engine.helpers import EchoNode, RaisingNode, make_store, run


def test_it_answers_from_recalled_memories(store, null_recorder) -> None:
    pipeline = build_default_pipeline(store, recorder=null_recorder)
    result = run(pipeline.run("which step does the guardian policy need"))
    assert result.status == "ok"
    assert [link.node for link in result.chain] == [
        "memory.recall",
        "attention.rank",
        "thought.compose",
        "action.local_answer",
        "decision.confidence",
        "awareness.self_check",
    ]
    sources = result.outputs[Stage.ACTION]["sources"]
    assert len(sources) == 3 and f"(sources: {', '.join(sources)})" in result.answer
    texts = {h.id: h.text for h in result.memories}
    for source in sources:
        assert "guardian policy" in texts[source]
        assert texts[source].split(". ")[0] in result.answer  # first sentence of each
    assert result.chain[0].memory_ids == tuple(h.id for h in result.memories)
    assert result.outputs[Stage.DECISION]["decision"] == "answer"


def test_it_is_deterministic(null_recorder) -> None:
    first = run(build_default_pipeline(make_store(), recorder=null_recorder).run("canary step"))
    second = run(build_default_pipeline(make_store(), recorder=null_recorder).run("canary step"))
    assert first.answer == second.answer
    assert [link.memory_ids for link in first.chain] == [link.memory_ids for link in second.chain]


def test_it_says_so_when_nothing_matches(null_recorder) -> None:
    store = MemoryStore(track_metrics=False)
    store.create_index("default")
    result = run(build_default_pipeline(store, recorder=null_recorder).run("anything at all"))
    assert result.status == "ok"
    assert result.answer == 'No memory matches "anything at all". [low confidence: 0.00]'
    assert result.outputs[Stage.DECISION] == {"decision": "abstain", "confidence": 0.0}


def test_it_uses_the_query_index_and_params(null_recorder) -> None:
    store = make_store(100, index="kb")
    pipeline = build_default_pipeline(store, index="missing", recorder=null_recorder)
    result = run(
        pipeline.run(
            "soak metrics", index="kb", params={"top_k": 3, "filters": {"topic": "soak metrics"}}
        )
    )
    assert len(result.memories) == 3
    assert all(h.metadata["topic"] == "soak metrics" for h in result.memories)
    fallback = run(pipeline.run("soak metrics"))  # default index does not exist
    assert fallback.chain[0].error_type == "IndexNotFoundError"
    assert fallback.ok and fallback.answer.endswith("[degraded: memory]")


def test_it_adds_extra_nodes_to_their_stage(store, null_recorder) -> None:
    extra = EchoNode("awareness.extra", Stage.AWARENESS, output={"extra": True})
    pipeline = build_default_pipeline(store, extra_nodes=[extra], recorder=null_recorder)
    nodes = {run(pipeline.run(f"q{i}")).chain[5].node for i in range(12)}
    assert nodes == {"awareness.self_check", "awareness.extra"}


def test_it_flags_degraded_stages_in_the_answer(store, null_recorder) -> None:
    pipeline = build_default_pipeline(store, recorder=null_recorder)
    attention = pipeline.specs[Stage.ATTENTION]
    object.__setattr__(attention, "nodes", (RaisingNode("attention.x", Stage.ATTENTION),))
    result = run(pipeline.run("release train"))
    assert result.chain[1].status is LinkStatus.ERROR
    assert result.answer.endswith("[degraded: attention]")
    # Thought fell back to the recalled memories in recall order.
    assert result.chain[2].memory_ids == tuple(h.id for h in result.memories[:3])


def test_it_runs_from_sync_code(store, null_recorder) -> None:
    result = build_default_pipeline(store, recorder=null_recorder).run_sync("canary")
    assert result.ok and result.answer


def test_it_builds_nodes_that_never_write_the_context(store) -> None:
    async def scenario() -> None:
        ctx = QueryContext(query="release train step", query_id="q", index="default")
        recall = await MemoryRecallNode(store).run(ctx)
        assert isinstance(recall, StageResult) and recall.memories
        assert ctx.memories == ()  # the orchestrator applies results, nodes do not
        ctx.memories = recall.memories
        focus = await AttentionRankNode(max_items=2).run(ctx)
        assert len(focus.output) == 2 and ctx.results == {}
        ctx.results[Stage.ATTENTION] = focus.output
        thought = await ThoughtComposeNode.from_config({"max_points": 1}).run(ctx)
        assert [p["id"] for p in thought.output] == [focus.output[0]["id"]]
        decision = await ConfidenceDecisionNode(min_confidence=2.0).run(ctx)
        assert decision.output["decision"] == "abstain"

    asyncio.run(scenario())


def test_attention_drops_what_scores_far_below_the_best_when_told() -> None:
    # A model embedder scores unrelated text ~0.2: a share of the best keeps it out.
    hits = (
        RecallHit("m1", "The canary rollout stopped at 5 percent.", {}, 0.71),
        RecallHit("m2", "The canary was halted by the sentinel.", {}, 0.52),
        RecallHit("m3", "Guardian denied it.", {}, 0.22),
    )
    ctx = QueryContext(query="why did the canary stop", query_id="q", index="default")
    ctx.memories = hits

    def kept(node: AttentionRankNode) -> list[str]:
        return [c["id"] for c in asyncio.run(node.run(ctx)).output]

    assert kept(AttentionRankNode()) == ["m1", "m2", "m3"]  # only the fixed floor (hashing)
    assert kept(AttentionRankNode(relative_min=0.6)) == ["m1", "m2"]
    assert kept(AttentionRankNode(relative_min=1.0)) == ["m1"]

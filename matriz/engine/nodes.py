"""Built-in nodes, one per stage: a whole query runs in process with no model.

Everything here is deterministic — same store, same query, same answer and
chain — which is what lets the golden-trace test pin the pipeline's shape.
They are declared as ``lukhas.cognitive_nodes`` entry points in
pyproject.toml and, between them, exercise every instantiation path of the
registry: :class:`MemoryRecallNode` needs a store, so discovery registers the
class as a factory; :class:`ThoughtComposeNode` has ``from_config``; the others
are built from their constructor defaults.

Nodes read the context and return a :class:`StageResult`; they never write the
context (see :mod:`matriz.engine.stages`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from matriz.engine.memory import MemoryStore, RecallHit
from matriz.engine.stages import LinkStatus, QueryContext, Stage, StageResult

_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _focused(ctx: QueryContext) -> list[RecallHit]:
    """The memories attention chose, or all recalled ones if attention did not run."""
    chosen = ctx.results.get(Stage.ATTENTION)
    if not chosen:
        return list(ctx.memories)
    by_id = {hit.id: hit for hit in ctx.memories}
    return [by_id[entry["id"]] for entry in chosen if entry["id"] in by_id]


class MemoryRecallNode:
    """Recalls the top-K memories of the query's index (``ctx.index`` or the default)."""

    stage = Stage.MEMORY

    def __init__(
        self,
        store: MemoryStore,
        *,
        index: str = "default",
        top_k: int = 8,
        name: str = "memory.recall",
    ) -> None:
        self.store = store
        self.index = index
        self.top_k = top_k
        self.name = name

    async def run(self, ctx: QueryContext) -> StageResult:
        k = int(ctx.params.get("top_k", self.top_k))
        hits = self.store.recall(
            ctx.index or self.index, ctx.query, k=k, filters=ctx.params.get("filters")
        )
        return StageResult(
            output={"recalled": len(hits)},
            memories=tuple(hits),
            memory_ids=tuple(hit.id for hit in hits),
        )


class AttentionRankNode:
    """Keeps the memories worth attending to: cosine blended with word overlap.

    The overlap term rewards the query's exact words, which a hashed cosine only
    approximates (bucket collisions, bigrams diluting unigrams). ``relative_min``
    also drops what scores under that share of the best relevance: a model
    embedder scores unrelated text around 0.2 (hashing: about 0), so a fixed
    floor alone would let it into the answer.
    """

    stage = Stage.ATTENTION

    def __init__(
        self,
        *,
        max_items: int = 5,
        min_score: float = 0.05,
        overlap_weight: float = 0.2,
        relative_min: float = 0.0,
        name: str = "attention.rank",
    ) -> None:
        self.max_items = max_items
        self.min_score = min_score
        self.relative_min = relative_min
        self.overlap_weight = overlap_weight
        self.name = name

    async def run(self, ctx: QueryContext) -> StageResult:
        query_words = _words(ctx.query)
        ranked = []
        for hit in ctx.memories:
            if hit.score < self.min_score:
                continue
            overlap = len(query_words & _words(hit.text)) / len(query_words) if query_words else 0.0
            relevance = (1 - self.overlap_weight) * hit.score + self.overlap_weight * overlap
            ranked.append((-round(relevance, 6), hit.id, relevance))
        ranked.sort()
        floor = max((rel for *_, rel in ranked), default=0.0) * self.relative_min
        chosen = [
            {"id": hit_id, "relevance": round(rel, 6)} for _, hit_id, rel in ranked if rel >= floor
        ]
        chosen = chosen[: self.max_items]
        return StageResult(output=chosen, memory_ids=tuple(c["id"] for c in chosen))


class ThoughtComposeNode:
    """Turns the focused memories into short points (their first sentence)."""

    stage = Stage.THOUGHT

    def __init__(
        self, *, max_points: int = 3, max_chars: int = 160, name: str = "thought.compose"
    ) -> None:
        self.max_points = max_points
        self.max_chars = max_chars
        self.name = name

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ThoughtComposeNode:
        """Registry factory: reads only the keys it knows, so a shared config is fine."""
        return cls(
            max_points=int(config.get("max_points", 3)), max_chars=int(config.get("max_chars", 160))
        )

    async def run(self, ctx: QueryContext) -> StageResult:
        points = []
        for hit in _focused(ctx)[: self.max_points]:
            first = _SENTENCE_END.split(hit.text.strip(), maxsplit=1)[0]
            if len(first) > self.max_chars:
                first = first[: self.max_chars - 1].rstrip() + "…"
            points.append({"id": hit.id, "point": first})
        return StageResult(output=points, memory_ids=tuple(p["id"] for p in points))


class LocalAnswerNode:
    """Drafts the answer locally from the composed points (no model call)."""

    stage = Stage.ACTION

    def __init__(self, *, name: str = "action.local_answer") -> None:
        self.name = name

    async def run(self, ctx: QueryContext) -> StageResult:
        points: Sequence[Mapping[str, str]] | None = ctx.results.get(Stage.THOUGHT)
        if not points:  # thought failed or found nothing: fall back to raw memories
            points = [{"id": h.id, "point": h.text} for h in _focused(ctx)[:3]]
        if not points:
            answer = f'No memory matches "{ctx.query}".'
            return StageResult(output={"draft": answer, "sources": []}, answer=answer)
        body = " ".join(p["point"].rstrip(".") + "." for p in points)
        sources = [p["id"] for p in points]
        answer = f"{body} (sources: {', '.join(sources)})"
        return StageResult(
            output={"draft": answer, "sources": sources}, answer=answer, memory_ids=tuple(sources)
        )


class ConfidenceDecisionNode:
    """Answers or abstains on the mean recall score of the sources used."""

    stage = Stage.DECISION

    def __init__(self, *, min_confidence: float = 0.15, name: str = "decision.confidence") -> None:
        self.min_confidence = min_confidence
        self.name = name

    async def run(self, ctx: QueryContext) -> StageResult:
        action = ctx.results.get(Stage.ACTION) or {}
        sources = list(action.get("sources", []))
        scores = {hit.id: hit.score for hit in ctx.memories}
        used = [scores[s] for s in sources if s in scores]
        confidence = round(sum(used) / len(used), 6) if used else 0.0
        decision = "answer" if confidence >= self.min_confidence else "abstain"
        answer = None
        if decision == "abstain" and ctx.answer is not None:
            answer = f"{ctx.answer} [low confidence: {confidence:.2f}]"
        return StageResult(
            output={"decision": decision, "confidence": confidence},
            answer=answer,
            memory_ids=tuple(s for s in sources if s in scores),
        )


class SelfCheckNode:
    """Looks back over the chain and flags the answer if any stage degraded."""

    stage = Stage.AWARENESS

    def __init__(self, *, name: str = "awareness.self_check") -> None:
        self.name = name

    async def run(self, ctx: QueryContext) -> StageResult:
        degraded = [link.stage.value for link in ctx.chain if link.status is not LinkStatus.OK]
        answer = None
        if degraded and ctx.answer is not None:
            answer = f"{ctx.answer} [degraded: {', '.join(degraded)}]"
        return StageResult(
            output={"degraded_stages": degraded, "stages_checked": len(ctx.chain)}, answer=answer
        )

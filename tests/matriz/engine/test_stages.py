"""Stages, chain links and the node protocol."""

from __future__ import annotations

import json

import pytest

from matriz.engine.stages import (
    STAGE_ORDER,
    ChainLink,
    CognitiveNode,
    FunctionNode,
    LinkStatus,
    QueryContext,
    Stage,
    StageResult,
)
from tests.matriz.engine.helpers import EchoNode, run


def test_it_orders_the_six_stages() -> None:
    assert [s.value for s in STAGE_ORDER] == [
        "memory",
        "attention",
        "thought",
        "action",
        "decision",
        "awareness",
    ]


def test_it_serialises_a_chain_link_to_plain_json_and_back() -> None:
    link = ChainLink(
        Stage.MEMORY,
        "memory.recall",
        LinkStatus.ERROR,
        1.23456,
        memory_ids=("a", "b"),
        error_type="OSError",
        error_message="disk",
        fallback_for="memory.primary",
    )
    data = link.to_dict()
    assert data == {
        "stage": "memory",
        "node": "memory.recall",
        "status": "error",
        "duration_ms": 1.235,
        "memory_ids": ["a", "b"],
        "error_type": "OSError",
        "error_message": "disk",
        "fallback_for": "memory.primary",
    }
    assert json.loads(json.dumps(data)) == data
    back = ChainLink.from_dict(data)
    assert back.stage is Stage.MEMORY and back.status is LinkStatus.ERROR
    assert back.memory_ids == ("a", "b") and not back.ok


def test_it_wraps_plain_return_values_of_function_nodes() -> None:
    async def answer(ctx: QueryContext) -> str:
        return ctx.query.upper()

    node = FunctionNode("thought.upper", "thought", answer)
    result = run(node.run(QueryContext(query="hi", query_id="q")))
    assert node.stage is Stage.THOUGHT
    assert result == StageResult(output="HI")


def test_it_recognises_nodes_structurally() -> None:
    assert isinstance(EchoNode("x", Stage.ACTION), CognitiveNode)
    assert not isinstance(object(), CognitiveNode)


def test_it_reports_time_left_against_the_loop_clock() -> None:
    async def scenario() -> tuple[float | None, float | None]:
        import asyncio

        loop = asyncio.get_running_loop()
        ctx = QueryContext(query="q", query_id="q", deadline=loop.time() + 0.5)
        return ctx.time_left(), QueryContext(query="q", query_id="q").time_left()

    left, unbounded = run(scenario())
    assert left is not None and 0.4 < left <= 0.5
    assert unbounded is None


def test_it_refuses_unknown_stage_names() -> None:
    with pytest.raises(ValueError):
        Stage("intuition")

"""Orchestrator: stage order, criticality, deadlines, spans, metrics, cancellation."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.trace import StatusCode
from prometheus_client import REGISTRY

from matriz.engine.orchestrator import Orchestrator, StageSpec
from matriz.engine.stages import LinkStatus, QueryContext, Stage, StageResult
from tests.matriz.engine.helpers import (
    EchoNode,
    HangingNode,
    RaisingNode,
    run,
    six_echo_nodes,
)


def pipeline_of(nodes: dict[Stage, object], **kwargs) -> Orchestrator:
    critical = kwargs.pop("critical", ())
    timeout_s = kwargs.pop("timeout_s", 0.2)
    specs = [
        StageSpec(stage, (node,), timeout_s=timeout_s, critical=stage in critical)
        for stage, node in nodes.items()
    ]
    return Orchestrator(specs, **kwargs)


def test_it_runs_the_stages_in_order_and_applies_their_results(null_recorder) -> None:
    seen: list[str] = []

    class Recorder(EchoNode):
        async def run(self, ctx: QueryContext) -> StageResult:
            seen.append(self.stage.value)
            assert ctx.results.keys() == set(list(Stage)[: len(seen) - 1])
            return StageResult(
                output=f"out-{self.stage.value}",
                memory_ids=(f"m-{self.stage.value}",),
                answer=f"answer by {self.stage.value}" if self.stage is Stage.ACTION else None,
            )

    nodes = {stage: Recorder(f"{stage.value}.rec", stage) for stage in reversed(Stage)}
    result = run(pipeline_of(nodes, recorder=null_recorder).run("q", query_id="qid-1"))

    assert seen == [s.value for s in Stage]
    assert result.ok and not result.degraded and result.status == "ok"
    assert result.answer == "answer by action"
    assert result.query_id == "qid-1"
    assert [link.stage for link in result.chain] == list(Stage)
    assert all(link.status is LinkStatus.OK for link in result.chain)
    assert result.chain[2].memory_ids == ("m-thought",)
    assert result.outputs[Stage.DECISION] == "out-decision"
    json.dumps(result.to_dict())  # plain data all the way down


def test_it_goes_on_past_a_failing_non_critical_stage(null_recorder) -> None:
    nodes = six_echo_nodes()
    nodes[Stage.THOUGHT] = RaisingNode("thought.boom", Stage.THOUGHT, ValueError("bad thought"))
    result = run(pipeline_of(nodes, recorder=null_recorder).run("q"))
    thought = result.chain[2]
    assert result.ok and result.degraded and result.status == "degraded"
    assert (thought.status, thought.error_type, thought.error_message) == (
        LinkStatus.ERROR,
        "ValueError",
        "bad thought",
    )
    assert all(link.ok for i, link in enumerate(result.chain) if i != 2)


def test_it_stops_at_a_failing_critical_stage_with_a_structured_error(null_recorder) -> None:
    nodes = six_echo_nodes()
    nodes[Stage.ACTION] = RaisingNode("action.boom", Stage.ACTION, KeyError("tool"))
    result = run(pipeline_of(nodes, critical={Stage.ACTION}, recorder=null_recorder).run("q"))
    assert not result.ok and result.status == "error"
    assert result.error.to_dict() == {
        "stage": "action",
        "node": "action.boom",
        "kind": "node_error",
        "error_type": "KeyError",
        "message": "'tool'",
    }
    assert [link.status.value for link in result.chain] == [
        "ok",
        "ok",
        "ok",
        "error",
        "skipped",
        "skipped",
    ]
    assert nodes[Stage.DECISION].calls == 0 and nodes[Stage.AWARENESS].calls == 0
    assert result.to_dict()["error"]["kind"] == "node_error"


def test_it_times_out_a_stage_and_cancels_its_node(null_recorder) -> None:
    nodes = six_echo_nodes()
    hanging = HangingNode("attention.hang", Stage.ATTENTION)
    nodes[Stage.ATTENTION] = hanging
    result = run(pipeline_of(nodes, timeout_s=0.05, recorder=null_recorder).run("q"))
    link = result.chain[1]
    assert (link.status, link.error_type) == (LinkStatus.TIMEOUT, "StageTimeout")
    assert 40 <= link.duration_ms < 500
    assert hanging.cancelled
    assert result.ok and result.degraded


def test_it_reports_a_critical_timeout_as_stage_timeout(null_recorder) -> None:
    nodes = six_echo_nodes()
    nodes[Stage.MEMORY] = HangingNode("memory.hang", Stage.MEMORY)
    result = run(
        pipeline_of(nodes, critical={Stage.MEMORY}, timeout_s=0.02, recorder=null_recorder).run("q")
    )
    assert result.error.kind == "stage_timeout" and result.error.stage is Stage.MEMORY


def test_it_tells_a_node_timeout_error_from_its_own_timeout(null_recorder) -> None:
    nodes = six_echo_nodes()
    nodes[Stage.THOUGHT] = RaisingNode("thought.t", Stage.THOUGHT, TimeoutError("upstream"))
    link = run(pipeline_of(nodes, recorder=null_recorder).run("q")).chain[2]
    assert (link.status, link.error_type, link.error_message) == (
        LinkStatus.ERROR,
        "TimeoutError",
        "upstream",
    )


def test_it_holds_the_end_to_end_deadline(null_recorder) -> None:
    nodes = {stage: HangingNode(f"{stage.value}.hang", stage) for stage in Stage}
    pipeline = pipeline_of(nodes, timeout_s=10.0, deadline_s=0.1, recorder=null_recorder)

    async def timed():
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await pipeline.run("q")
        return result, loop.time() - started

    result, elapsed = run(timed())
    assert elapsed < 0.5  # 0.1 s budget; the first stage eats it all, the rest are skipped
    first, rest = result.chain[0], result.chain[1:]
    assert (first.status, first.error_type) == (LinkStatus.TIMEOUT, "DeadlineExceeded")
    assert all(
        (link.status, link.error_type) == (LinkStatus.SKIPPED, "DeadlineExceeded") for link in rest
    )
    assert sum(node.calls for node in nodes.values()) == 1
    assert result.ok  # nothing critical: degraded, not failed


def test_it_fails_the_query_when_the_deadline_skips_a_critical_stage(null_recorder) -> None:
    nodes = six_echo_nodes()
    nodes[Stage.MEMORY] = HangingNode("memory.hang", Stage.MEMORY)
    pipeline = pipeline_of(
        nodes, critical={Stage.ACTION}, timeout_s=5.0, deadline_s=0.05, recorder=null_recorder
    )
    result = run(pipeline.run("q"))
    assert result.error.kind == "deadline_exceeded" and result.error.stage is Stage.ACTION


def test_it_takes_a_per_query_deadline(null_recorder) -> None:
    nodes = six_echo_nodes()
    nodes[Stage.MEMORY] = HangingNode("memory.hang", Stage.MEMORY)
    pipeline = pipeline_of(nodes, timeout_s=5.0, deadline_s=60.0, recorder=null_recorder)
    result = run(pipeline.run("q", deadline_s=0.03))
    assert result.chain[0].error_type == "DeadlineExceeded"


def test_it_leaves_no_task_running_after_run_returns(null_recorder) -> None:
    class SpawningNode(EchoNode):
        """Starts helpers in a TaskGroup and hangs: the timeout must take them all down."""

        async def run(self, ctx: QueryContext) -> StageResult:
            async with asyncio.TaskGroup() as group:
                for _ in range(3):
                    group.create_task(asyncio.sleep(30))
            return StageResult()

    nodes = six_echo_nodes()
    nodes[Stage.MEMORY] = HangingNode("memory.hang", Stage.MEMORY)
    nodes[Stage.THOUGHT] = SpawningNode("thought.spawn", Stage.THOUGHT)
    pipeline = pipeline_of(nodes, timeout_s=0.03, recorder=null_recorder)

    async def scenario() -> tuple[set, set]:
        before = asyncio.all_tasks()
        await pipeline.run("q")
        after = asyncio.all_tasks()
        return before, after

    before, after = run(scenario())
    assert after == before  # only the test's own task


def test_it_propagates_cancellation_of_the_caller(null_recorder) -> None:
    nodes = six_echo_nodes()
    hanging = HangingNode("memory.hang", Stage.MEMORY)
    nodes[Stage.MEMORY] = hanging
    pipeline = pipeline_of(nodes, timeout_s=30.0, deadline_s=60.0, recorder=null_recorder)

    async def scenario() -> set:
        task = asyncio.create_task(pipeline.run("q"))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return asyncio.all_tasks() - {asyncio.current_task()}

    assert run(scenario()) == set()
    assert hanging.cancelled
    assert pipeline.router.snapshot()["memory.hang"]["in_flight"] == 0


def test_it_records_a_stage_without_nodes_as_skipped(null_recorder) -> None:
    pipeline = Orchestrator(
        [StageSpec(Stage.ACTION, (EchoNode("a", Stage.ACTION, answer="x"),))],
        recorder=null_recorder,
    )
    result = run(pipeline.run("q"))
    assert [link.status.value for link in result.chain] == ["skipped"] * 3 + ["ok"] + [
        "skipped"
    ] * 2
    assert result.chain[0].error_message == "no node"
    assert result.ok and result.answer == "x"


def test_it_validates_its_configuration() -> None:
    with pytest.raises(ValueError, match="serves"):
        StageSpec(Stage.MEMORY, (EchoNode("x", Stage.ACTION),))
    with pytest.raises(ValueError, match="duplicate"):
        StageSpec(Stage.MEMORY, (EchoNode("x", Stage.MEMORY), EchoNode("x", Stage.MEMORY)))
    with pytest.raises(ValueError, match="positive"):
        StageSpec(Stage.MEMORY, (), timeout_s=0)
    with pytest.raises(ValueError, match="twice"):
        Orchestrator([StageSpec(Stage.MEMORY, ()), StageSpec(Stage.MEMORY, ())])
    with pytest.raises(ValueError, match="unique across stages"):
        Orchestrator(
            [
                StageSpec(Stage.MEMORY, (EchoNode("same", Stage.MEMORY),)),
                StageSpec(Stage.ACTION, (EchoNode("same", Stage.ACTION),)),
            ]
        )
    with pytest.raises(ValueError, match="without a breaker"):
        Orchestrator([], fallbacks={"x": EchoNode("y", Stage.MEMORY)})


def test_it_emits_a_query_span_with_a_child_per_stage(spans, null_recorder) -> None:
    nodes = six_echo_nodes()
    nodes[Stage.THOUGHT] = RaisingNode("thought.boom", Stage.THOUGHT)
    result = run(pipeline_of(nodes, recorder=null_recorder).run("secret question", index="kb"))

    finished = spans.get_finished_spans()
    root = next(s for s in finished if s.name == "matriz.query")
    children = [
        s for s in finished if s.parent is not None and s.parent.span_id == root.context.span_id
    ]
    assert [s.name for s in children] == [f"stage.{stage.value}" for stage in Stage]
    assert root.attributes["matriz.status"] == "degraded"
    assert root.attributes["matriz.index"] == "kb"
    assert result.trace_id == format(root.context.trace_id, "032x")
    boom = children[2]
    assert boom.attributes["matriz.node"] == "thought.boom"
    assert boom.attributes["matriz.status"] == "error"
    assert boom.status.status_code is StatusCode.ERROR
    assert [e.name for e in boom.events] == ["stage_error"]
    assert boom.events[0].attributes["error.type"] == "RuntimeError"
    for span in finished:  # the query text never leaves in a span
        assert "secret question" not in json.dumps(dict(span.attributes or {}))


def test_it_counts_stages_and_failures_in_prometheus() -> None:
    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    nodes = six_echo_nodes()
    nodes[Stage.ATTENTION] = RaisingNode("attention.boom", Stage.ATTENTION, LookupError())
    nodes[Stage.DECISION] = HangingNode("decision.hang", Stage.DECISION)
    pipeline = pipeline_of(nodes, timeout_s=0.02)  # real Prometheus recorder
    before = {
        "total": value("matriz_stage_total", stage="attention"),
        "fail": value("matriz_stage_fail_total", stage="attention", type="LookupError"),
        "timeout": value("matriz_stage_fail_total", stage="decision", type="timeout"),
        "durations": value("matriz_stage_duration_seconds_count", stage="memory"),
        "e2e": value("matriz_end_to_end_seconds_count"),
    }
    run(pipeline.run("q"))
    assert value("matriz_stage_total", stage="attention") == before["total"] + 1
    assert (
        value("matriz_stage_fail_total", stage="attention", type="LookupError")
        == before["fail"] + 1
    )
    assert value("matriz_stage_fail_total", stage="decision", type="timeout") == (
        before["timeout"] + 1
    )
    assert value("matriz_stage_duration_seconds_count", stage="memory") == before["durations"] + 1
    assert value("matriz_end_to_end_seconds_count") == before["e2e"] + 1

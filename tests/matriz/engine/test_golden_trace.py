"""Golden traces: one query's span tree and reasoning chain, pinned in golden/*.json.

Timings and ids change run to run, so the comparison is on a projection: span
names, parent/child links, status, the values of the stable attributes and the
names of all attributes; the chain with ``duration_ms`` checked for type only.
A deliberate change of shape is recorded with ``LUKHAS_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from matriz.engine.orchestrator import StageSpec
from matriz.engine.pipeline import build_default_pipeline
from matriz.engine.stages import Stage
from tests.matriz.engine.helpers import RaisingNode, make_store, run

GOLDEN = Path(__file__).parent / "golden"
STABLE_ATTRIBUTES = (
    "matriz.stage",
    "matriz.node",
    "matriz.status",
    "matriz.index",
    "matriz.memory_ids",
    "matriz.fallback_for",
)


def project_spans(finished) -> list[dict[str, Any]]:
    by_id = {span.context.span_id: span for span in finished}
    ordered = sorted(finished, key=lambda s: (s.parent is not None, s.start_time))
    projected = []
    for span in ordered:
        attributes = dict(span.attributes or {})
        parent = by_id.get(span.parent.span_id).name if span.parent is not None else None
        assert isinstance(attributes.get("matriz.duration_ms"), float)
        projected.append(
            {
                "name": span.name,
                "parent": parent,
                "status": span.status.status_code.name,
                "attributes": {
                    k: list(v) if isinstance(v, tuple) else v
                    for k, v in attributes.items()
                    if k in STABLE_ATTRIBUTES
                },
                "attribute_keys": sorted(attributes),
                "events": [
                    {"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events
                ],
            }
        )
    return projected


def project_result(result) -> dict[str, Any]:
    data = result.to_dict()
    for link in data["chain"]:
        assert isinstance(link["duration_ms"], float) and link["duration_ms"] >= 0
        link["duration_ms"] = "<float>"
    assert len(data["query_id"]) == 32 and len(data["trace_id"]) == 32
    data["query_id"] = data["trace_id"] = "<id>"
    data["duration_ms"] = "<float>"
    return data


def check_golden(name: str, observed: dict[str, Any]) -> None:
    path = GOLDEN / f"{name}.json"
    if os.environ.get("LUKHAS_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(observed, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.skip(f"rewrote {path.name}")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert observed == expected, (
        f"trace shape changed; if intended, LUKHAS_UPDATE_GOLDEN=1 ({path})"
    )


def query_once(pipeline, spans) -> dict[str, Any]:
    result = run(pipeline.run("what does the canary rollout need", index="default"))
    finished = spans.get_finished_spans()
    assert len({s.context.trace_id for s in finished}) == 1  # one trace per query
    return {"spans": project_spans(finished), "result": project_result(result)}


def test_it_matches_the_golden_trace_of_a_healthy_query(spans, null_recorder) -> None:
    pipeline = build_default_pipeline(make_store(200), recorder=null_recorder)
    check_golden("query_ok", query_once(pipeline, spans))


def test_it_matches_the_golden_trace_of_a_degraded_query(spans, null_recorder) -> None:
    pipeline = build_default_pipeline(make_store(200), recorder=null_recorder)
    pipeline.specs[Stage.THOUGHT] = StageSpec(
        Stage.THOUGHT, (RaisingNode("thought.broken", Stage.THOUGHT, RuntimeError("no idea")),)
    )
    check_golden("query_degraded", query_once(pipeline, spans))

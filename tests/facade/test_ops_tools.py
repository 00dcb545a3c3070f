"""The release's own tools: exported as OpenAI tools, answering ops questions in lukhas-matriz-1.

The data is a plan imported as a user would import it; the questions go
through the official SDK to a live server; a key without ``ops:read`` gets
an answer that says so, never the data.
"""

from __future__ import annotations

import json
from io import StringIO

import openai
import pytest
from django.core.management import call_command
from jsonschema import Draft202012Validator

from tests.live import live_site  # noqa: F401

PLAN = b"""# Release plan

| Task | Title | Owner | Estimate | Depends on |
|---|---|---|---|---|
| R-1 | Wire the rate limiter | Ada | 2h | |
| R-2 | Load test the limiter | Ben | 3h | R-1 |
| R-3 | Publish the limiter docs | Ada | 1h | R-2 |
| R-4 | Rotate the signing keys | Cy | | |
"""


def _import_plan() -> None:
    from coordination.services.plan_import import plan_import_data

    plan_import_data(data=PLAN, source_name="release-plan.md", by="test")


@pytest.mark.django_db
def test_every_tool_exports_as_a_valid_openai_function_tool():
    out = StringIO()
    call_command("export_openai_tools", stdout=out)
    tools = json.loads(out.getvalue())
    names = [tool["function"]["name"] for tool in tools]
    assert names == [
        "blockers", "critical_path", "get_task", "health_report", "memory_query",
        "owner_workload", "review_queue", "search_tasks", "soak_status",
    ]  # fmt: skip
    for tool in tools:
        assert tool["type"] == "function" and tool["function"]["description"]
        Draft202012Validator.check_schema(tool["function"]["parameters"])
        assert tool["x-lukhas-scope"] in {"ops:read", "indexes:read"}


@pytest.mark.django_db
def test_the_router_picks_the_tool_a_question_calls_for():
    from matriz import tooling

    _import_plan()
    asked = {
        "Which tasks are blocked right now?": "blockers",
        "What's on the critical path?": "critical_path",
        "Tell me about R-2": "get_task",
        "What does R-3 depend on?": "get_task",
        "Who owns the docs task?": "search_tasks",
        "What is Ada working on?": "owner_workload",
        "Anything in the review queue?": "review_queue",
        "How is the soak going?": "soak_status",
        "Is the coverage gate green?": "health_report",
        "What's the weather like?": None,
    }
    routed = {q: getattr(tooling.route(q), "name", None) for q in asked}
    assert routed == asked
    assert tooling.tool_get("get_task").arguments("Tell me about R-2") == {"key": "R-2"}
    assert tooling.tool_get("owner_workload").arguments("What is Ada working on?") == {
        "owner": "Ada"
    }


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_lukhas_matriz_answers_ops_questions_from_the_tools(live_site, mint_key):  # noqa: F811
    _import_plan()
    site = live_site()
    plaintext, _ = mint_key()
    sdk = openai.OpenAI(base_url=f"{site.base}/v1", api_key=plaintext, max_retries=0)

    listed = sdk.get("/tools", cast_to=object)
    assert [t["function"]["name"] for t in listed["data"]][:2] == ["blockers", "critical_path"]

    blocked = sdk.responses.create(model="lukhas-matriz-1", input="Which tasks are blocked?")
    assert "R-2 (Load test the limiter) (Ben) waits for R-1" in blocked.output_text
    link = blocked.lukhas["reasoning_chain"][-1]
    assert link["node"] == "tool:blockers" and link["status"] == "ok"
    assert link["tool"]["arguments"] == {} and link["tool"]["result_size"] > 0
    assert "task:R-2" in blocked.lukhas["sources"]

    path = sdk.chat.completions.create(
        model="lukhas-matriz-1",
        messages=[{"role": "user", "content": "What is the critical path?"}],
    )
    text = path.choices[0].message.content
    assert "R-1 (Wire the rate limiter) → R-2 (Load test the limiter) → R-3" in text
    assert "6 h of estimates" in text

    unknown = sdk.responses.create(model="lukhas-matriz-1", input="Tell me about R-4")
    assert "Cy" in unknown.output_text and "no estimate" in unknown.output_text

    # A key that may not read ops data is told so; the data never reaches it.
    narrow, _ = mint_key(scopes=["responses:write", "models:read"])
    limited = openai.OpenAI(base_url=f"{site.base}/v1", api_key=narrow, max_retries=0)
    refused = limited.responses.create(model="lukhas-matriz-1", input="Which tasks are blocked?")
    assert "needs the scope 'ops:read'" in refused.output_text
    assert "R-2" not in refused.output_text
    assert refused.lukhas["reasoning_chain"][-1]["status"] == "error"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_upstream_calls_our_tools_and_we_run_them_server_side(live_site, mint_key):  # noqa: F811
    from tests.facade.tool_upstream import ToolUpstream, call, upstream_env

    _import_plan()
    own = [call("call_o1", "blockers", {})]
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}
    with ToolUpstream([own, "Two tasks wait.", own, own, own]) as server:
        site = live_site(**upstream_env(server, LUKHAS_UPSTREAM_TOOL_ROUNDS="2"))
        plaintext, _ = mint_key()
        sdk = openai.OpenAI(base_url=f"{site.base}/v1", api_key=plaintext, max_retries=0)
        answer = sdk.chat.completions.create(
            model="lukhas-matriz-1",
            messages=[{"role": "user", "content": "what is stuck?"}],
            tools=[weather],
        )
        offered = [t["function"]["name"] for t in server.requests[0]["tools"]]
        second = server.requests[1]["messages"]
        # Rounds are bounded: an upstream that only ever calls our tools is cut off.
        capped = sdk.chat.completions.create(
            model="lukhas-matriz-1", messages=[{"role": "user", "content": "again"}]
        )
        asked = len(server.requests)
    assert offered[0] == "get_weather" and "blockers" in offered and "get_task" in offered
    choice = answer.choices[0]
    assert choice.message.content.strip() == "Two tasks wait." and choice.message.tool_calls is None
    assert second[-2]["tool_calls"][0]["function"]["name"] == "blockers"
    result = json.loads(second[-1]["content"])
    assert second[-1]["tool_call_id"] == "call_o1" and "R-2" in result["answer"]
    links = [link for link in answer.lukhas["reasoning_chain"] if link["node"] == "tool:blockers"]
    assert links[0]["tool"]["round"] == 1 and links[0]["tool"]["result_size"] > 0
    assert "task:R-2" in answer.lukhas["sources"]
    assert asked == 2 + 3  # the capped answer: 1 + 2 rounds, then no more upstream calls
    assert capped.choices[0].finish_reason == "stop" and not capped.choices[0].message.tool_calls

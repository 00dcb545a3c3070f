"""Client tool calling through the official SDK against a live server.

An agent loop built on the SDK must work here as on OpenAI: a required or
named tool comes back as ``tool_calls`` with arguments its schema accepts,
the tool's result is answered, and an upstream's calls pass through whole
(streamed deltas with their indexes and ids, ``finish_reason`` consistent).
"""

from __future__ import annotations

import json

import jsonschema
import openai
import pytest

from tests.facade.tool_upstream import ToolUpstream, call, upstream_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "city name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}
TASK = {
    "type": "function",
    "function": {
        "name": "get_task",
        "description": "Look up a coordination task by its key",
        "parameters": {
            "type": "object",
            "properties": {"key": {"type": "string", "pattern": "^[A-Z]+-[0-9]+$"}},
            "required": ["key"],
        },
    },
}


def _parameters(tool: dict) -> dict:
    return tool["function"]["parameters"]


def test_required_tool_choice_calls_the_best_tool_with_valid_arguments(connect):
    sdk = connect()
    ask = [{"role": "user", "content": "What is the weather in fahrenheit for 3 days in Lyon?"}]
    answer = sdk.chat.completions.create(
        model="matriz-echo", messages=ask, tools=[TASK, WEATHER], tool_choice="required"
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (tool_call,) = choice.message.tool_calls
    assert tool_call.id.startswith("call_") and tool_call.function.name == "get_weather"
    arguments = json.loads(tool_call.function.arguments)
    jsonschema.validate(arguments, _parameters(WEATHER))
    assert arguments["unit"] == "fahrenheit" and arguments["days"] == 3
    assert answer.lukhas["reasoning_chain"][-1]["node"] == "client_tool:get_weather"

    # The agent loop: run the tool, send its result; the model answers from it.
    follow_up = sdk.chat.completions.create(
        model="matriz-echo",
        messages=[
            *ask,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": tool_call.id, "content": "12 degrees, light rain"},
        ],
        tools=[TASK, WEATHER],
    )
    assert follow_up.choices[0].message.content == "12 degrees, light rain"
    assert follow_up.choices[0].finish_reason == "stop"


def test_a_named_function_is_called_with_the_key_the_question_states(connect):
    sdk = connect()
    answer = sdk.chat.completions.create(
        model="lukhas-matriz-1",
        messages=[{"role": "user", "content": "Who owns CC-12 and is it blocked?"}],
        tools=[WEATHER, TASK],
        tool_choice={"type": "function", "function": {"name": "get_task"}},
    )
    (tool_call,) = answer.choices[0].message.tool_calls
    assert tool_call.function.name == "get_task"
    assert json.loads(tool_call.function.arguments) == {"key": "CC-12"}


def test_auto_and_none_answer_in_text_locally(connect):
    sdk = connect()
    for choice in ("auto", "none"):
        answer = sdk.chat.completions.create(
            model="matriz-echo",
            messages=[{"role": "user", "content": "weather in Lyon"}],
            tools=[WEATHER],
            tool_choice=choice,
        )
        assert answer.choices[0].message.content == "weather in Lyon"
        assert answer.choices[0].message.tool_calls is None


def test_a_tool_call_streams_as_deltas_the_sdk_accumulates(connect):
    sdk = connect()
    ask = [{"role": "user", "content": "weather in celsius in Oslo"}]
    with sdk.chat.completions.stream(
        model="matriz-echo", messages=ask, tools=[WEATHER], tool_choice="required"
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert "tool_calls.function.arguments.delta" in kinds
    (tool_call,) = final.choices[0].message.tool_calls
    assert final.choices[0].finish_reason == "tool_calls"
    assert json.loads(tool_call.function.arguments)["unit"] == "celsius"


def test_impossible_tool_requests_are_clear_400s(connect):
    sdk = connect()
    ask = [{"role": "user", "content": "weather in Lyon"}]
    with pytest.raises(openai.BadRequestError) as unknown:
        sdk.chat.completions.create(
            model="matriz-echo",
            messages=ask,
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "get_stock"}},
        )
    assert unknown.value.body["param"] == "tool_choice"
    assert "'get_stock', which is not among the tools (get_weather)" in unknown.value.message
    with pytest.raises(openai.BadRequestError) as no_key:
        sdk.chat.completions.create(
            model="matriz-echo", messages=ask, tools=[TASK], tool_choice="required"
        )
    assert "cannot be called by this model" in no_key.value.message
    with pytest.raises(openai.BadRequestError) as bad_schema:
        broken = {"type": "function", "function": {"name": "x", "parameters": {"type": 3}}}
        sdk.chat.completions.create(
            model="matriz-echo", messages=ask, tools=[broken], tool_choice="required"
        )
    assert "not a valid JSON schema" in bad_schema.value.message
    with pytest.raises(openai.BadRequestError) as no_tools:
        sdk.chat.completions.create(model="matriz-echo", messages=ask, tool_choice="required")
    assert no_tools.value.body["param"] == "tool_choice"


CALLS = [
    call("call_a1", "get_weather", {"city": "Lyon", "unit": "celsius"}),
    call("call_b2", "get_task", {"key": "CC-1"}),
]


def test_upstream_tool_calls_pass_through_whole_when_streamed(connect):
    with ToolUpstream([CALLS]) as server:
        sdk = connect(**upstream_env(server))
        with sdk.chat.completions.stream(
            model="lukhas-matriz-1",
            messages=[{"role": "user", "content": "weather and CC-1"}],
            tools=[WEATHER, TASK],
        ) as stream:
            final = stream.get_final_completion()
        sent = server.requests[0]
    assert sent["tools"][:2] == [WEATHER, TASK]  # then the release's own tools
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    got = [(c.id, c.function.name, c.function.arguments) for c in choice.message.tool_calls]
    assert got == [(c["id"], c["function"]["name"], c["function"]["arguments"]) for c in CALLS]


def test_upstream_tool_calls_pass_through_in_a_json_answer(connect):
    with ToolUpstream([CALLS], json_answers=True) as server:
        sdk = connect(**upstream_env(server))
        answer = sdk.chat.completions.create(
            model="lukhas-matriz-1",
            messages=[{"role": "user", "content": "weather and CC-1"}],
            tools=[WEATHER, TASK],
        )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert [c.model_dump() for c in choice.message.tool_calls] == CALLS


def test_tools_are_applied_not_reported_as_dropped(connect):
    sdk = connect()
    raw = sdk.chat.completions.with_raw_response.create(
        model="matriz-echo",
        messages=[{"role": "user", "content": "weather in Lyon"}],
        tools=[WEATHER],
        tool_choice="auto",
        parallel_tool_calls=False,
    )
    assert "x-lukhas-ignored-params" not in raw.headers


# --- the Responses API ---------------------------------------------------------

FLAT_WEATHER = {"type": "function", **WEATHER["function"]}
FLAT_TASK = {"type": "function", **TASK["function"]}


def test_responses_call_a_function_and_answer_its_output(connect):
    sdk = connect()
    first = sdk.responses.create(
        model="matriz-echo",
        input="Weather in celsius in Oslo?",
        tools=[FLAT_TASK, FLAT_WEATHER],
        tool_choice="required",
    )
    assert first.status == "completed"
    assert [tool.name for tool in first.tools] == ["get_task", "get_weather"]  # echoed as sent
    assert first.tool_choice == "required"
    (item,) = first.output
    assert item.type == "function_call" and item.name == "get_weather"
    assert item.call_id.startswith("call_")
    jsonschema.validate(json.loads(item.arguments), FLAT_WEATHER["parameters"])

    follow = sdk.responses.create(
        model="matriz-echo",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": item.call_id, "output": "-3 C, snow"}],
        tools=[FLAT_WEATHER],
    )
    assert follow.output_text == "-3 C, snow"
    (listed,) = sdk.responses.input_items.list(follow.id).data
    assert listed.type == "function_call_output" and listed.call_id == item.call_id

    # The whole exchange in one input, without a stored previous response.
    again = sdk.responses.create(
        model="matriz-echo",
        store=False,
        input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "type": "function_call",
                "call_id": "call_x",
                "name": "get_weather",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_x", "output": "windy"},
        ],
    )
    assert again.output_text == "windy"


def test_responses_stream_a_function_call_the_sdk_accumulates(connect):
    sdk = connect()
    with sdk.responses.stream(
        model="matriz-echo",
        input="weather in fahrenheit in Rome",
        tools=[FLAT_WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.function_call_arguments.delta" in kinds
    assert kinds[-1] == "response.completed"
    (item,) = final.output
    assert item.type == "function_call" and json.loads(item.arguments)["unit"] == "fahrenheit"


def test_responses_refuse_hosted_tools_and_bad_items_by_name(connect):
    sdk = connect()
    with pytest.raises(openai.BadRequestError) as hosted:
        sdk.responses.create(model="matriz-echo", input="hi", tools=[{"type": "web_search"}])
    assert hosted.value.body["param"] == "tools[0].type"
    with pytest.raises(openai.BadRequestError) as missing:
        sdk.responses.create(
            model="matriz-echo", input=[{"type": "function_call_output", "output": "x"}]
        )
    assert missing.value.body["param"] == "input[0].call_id"


def test_responses_pass_upstream_function_calls_through(connect):
    with ToolUpstream([CALLS, CALLS]) as server:
        sdk = connect(**upstream_env(server))
        answer = sdk.responses.create(
            model="lukhas-matriz-1",
            input="weather and CC-1",
            tools=[FLAT_WEATHER, FLAT_TASK],
            tool_choice="auto",
        )
        with sdk.responses.stream(
            model="lukhas-matriz-1", input="again", tools=[FLAT_WEATHER, FLAT_TASK]
        ) as stream:
            streamed = stream.get_final_response()
        sent = server.requests[0]
    assert sent["tools"][:2] == [WEATHER, TASK] and sent["tool_choice"] == "auto"
    for response in (answer, streamed):
        got = [(i.type, i.call_id, i.name, i.arguments) for i in response.output]
        assert got == [
            ("function_call", c["id"], c["function"]["name"], c["function"]["arguments"])
            for c in CALLS
        ]

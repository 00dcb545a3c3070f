"""Token log probabilities through the official SDK against a live server.

An upstream model's ``logprobs`` are passed through whole (chat: per choice
and per stream chunk; responses: on ``output_text`` when ``include`` asks);
a local model has none and says so with a 400 naming the parameter, never
an empty list that looks like an answer.
"""

from __future__ import annotations

import openai
import pytest

from tests.facade.tool_upstream import ToolUpstream, upstream_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ASK = [{"role": "user", "content": "Is the canary healthy?"}]
ANSWER = "the canary holds steady"
INCLUDE = ["message.output_text.logprobs"]


def tokens(entries) -> str:
    return "".join(entry.token for entry in entries)


@pytest.mark.parametrize("json_answers", [True, False], ids=["json", "streamed-upstream"])
def test_chat_passes_the_upstreams_logprobs_through(connect, json_answers):
    with ToolUpstream([ANSWER, ANSWER], json_answers=json_answers) as server:
        sdk = connect(**upstream_env(server))
        answer = sdk.chat.completions.create(
            model="lukhas-matriz-1", messages=ASK, logprobs=True, top_logprobs=2
        )
        asked = server.requests[-1]
        assert asked["logprobs"] is True and asked["top_logprobs"] == 2
        content = answer.choices[0].logprobs.content
        assert tokens(content) == answer.choices[0].message.content
        assert answer.choices[0].message.content.strip() == ANSWER
        assert [alt.token for alt in content[0].top_logprobs] == ["the~0", "the~1"]
        assert content[0].logprob == -0.25 and content[0].bytes == list(b"the ")

        plain = sdk.chat.completions.create(model="lukhas-matriz-1", messages=ASK)
        assert "logprobs" not in server.requests[-1]
        assert plain.choices[0].logprobs is None  # none asked, none sent: null, not []


def test_chat_streams_each_pieces_logprobs_with_it(connect):
    with ToolUpstream([ANSWER]) as server:
        sdk = connect(**upstream_env(server))
        stream = sdk.chat.completions.create(
            model="lukhas-matriz-1", messages=ASK, logprobs=True, top_logprobs=1, stream=True
        )
        scored = [
            (chunk.choices[0].delta.content, chunk.choices[0].logprobs.content)
            for chunk in stream
            if chunk.choices and chunk.choices[0].logprobs is not None
        ]
    assert [text for text, _ in scored] == [word + " " for word in ANSWER.split(" ")]
    assert all(tokens(entries) == text for text, entries in scored)
    assert all(len(entries[0].top_logprobs) == 1 for _, entries in scored)


def test_responses_return_logprobs_when_include_asks(connect):
    with ToolUpstream([ANSWER, ANSWER]) as server:
        sdk = connect(**upstream_env(server))
        raw = sdk.responses.with_raw_response.create(
            model="lukhas-matriz-1", input="Is the canary healthy?", include=INCLUDE
        )
        assert server.requests[-1]["logprobs"] is True
        assert "include" not in raw.headers.get("x-lukhas-ignored-params", "")
        (part,) = raw.parse().output[0].content
        assert tokens(part.logprobs) == part.text and part.text.strip() == ANSWER

        with sdk.responses.stream(
            model="lukhas-matriz-1", input="again", include=INCLUDE, top_logprobs=3
        ) as stream:
            deltas = [e for e in stream if e.type == "response.output_text.delta"]
            final = stream.get_final_response()
        assert server.requests[-1]["top_logprobs"] == 3
        assert all(tokens(event.logprobs) == event.delta for event in deltas)
        (part,) = final.output[0].content
        assert tokens(part.logprobs) == part.text


def test_a_local_model_refuses_logprobs_naming_the_parameter(connect):
    sdk = connect()
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(model="matriz-echo", input="hi", include=INCLUDE)
    assert refused.value.param == "include"
    assert "no token probabilities" in refused.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(model="matriz-echo", input="hi", top_logprobs=2)
    assert refused.value.param == "top_logprobs"
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(model="matriz-echo", messages=ASK, top_logprobs=2)
    assert refused.value.param == "top_logprobs"

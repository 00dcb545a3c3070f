"""Request parameters through the official SDK: applied, dropped out loud, or refused by name.

An SDK upgrade that sends a newer OpenAI parameter must keep working; a
parameter that would change what the client gets (log probabilities, a JSON
answer) must not be silently ignored.
"""

from __future__ import annotations

import openai
import pytest

from tests.live import live_site  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HEADER = "x-lukhas-ignored-params"
ASK = [{"role": "user", "content": "alpha beta. gamma delta"}]


@pytest.fixture
def sdk(live_site, mint_key):  # noqa: F811
    site = live_site()
    plaintext, _ = mint_key()
    return openai.OpenAI(base_url=f"{site.base}/v1", api_key=plaintext, max_retries=0, timeout=30)


def test_it_accepts_newer_parameters_and_names_the_ones_it_drops(sdk):
    raw = sdk.chat.completions.with_raw_response.create(
        model="matriz-echo",
        messages=ASK,
        prediction={"type": "content", "content": "alpha"},
        verbosity="low",
        safety_identifier="user-42",
        prompt_cache_key="k1",
        web_search_options={},
        temperature=0.2,
        seed=7,
    )
    assert raw.parse().choices[0].message.content == "alpha beta. gamma delta"
    dropped = raw.headers[HEADER].split(", ")
    assert dropped == [
        "prediction",
        "prompt_cache_key",
        "safety_identifier",
        "seed",
        "temperature",
        "verbosity",
        "web_search_options",
    ]
    plain = sdk.chat.completions.with_raw_response.create(model="matriz-echo", messages=ASK)
    assert HEADER not in plain.headers  # nothing set, nothing dropped

    stream = sdk.chat.completions.with_raw_response.create(
        model="matriz-echo", messages=ASK, stream=True, verbosity="high"
    )
    assert stream.headers[HEADER] == "verbosity"

    answer = sdk.responses.with_raw_response.create(
        model="matriz-echo",
        input="hello",
        prompt_cache_key="k2",
        safety_identifier="u",
        max_tool_calls=2,
        text={"format": {"type": "text"}, "verbosity": "low"},
    )
    assert answer.parse().output_text == "hello"
    assert (
        answer.headers[HEADER]
        == "max_tool_calls, prompt_cache_key, safety_identifier, text.verbosity"
    )


def test_it_applies_stop_sequences_to_local_answers_and_streams(sdk):
    answer = sdk.chat.completions.create(model="matriz-echo", messages=ASK, stop=[". ", "delta"])
    assert answer.choices[0].message.content == "alpha beta"
    assert answer.choices[0].finish_reason == "stop"
    pieces = sdk.chat.completions.create(
        model="matriz-echo", messages=ASK, stop="gamma", stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in pieces if chunk.choices)
    assert text == "alpha beta. "


def test_it_refuses_what_it_cannot_honour_naming_the_parameter(sdk):
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(model="matriz-echo", messages=ASK, logprobs=True)
    assert refused.value.param == "logprobs"
    # A JSON answer is built locally (tests/facade/test_structured.py) unless the
    # schema asks for what no local answer holds: then a 400 says so.
    six_digits = {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^[0-9]{6}$"}},
        "required": ["code"],
    }
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(
            model="matriz-echo",
            input="hi",
            text={"format": {"type": "json_schema", "name": "pin", "schema": six_digits}},
        )
    assert refused.value.param == "text.format"
    assert "'pin' cannot be filled from a local answer" in refused.value.message
    # A name OpenAI does not define is still an error that names it.
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.chat.completions.create(
            model="matriz-echo", messages=ASK, extra_body={"temprature": 0.5}
        )
    assert "temprature" in str(refused.value.message) + str(refused.value.param)


def test_n_gives_n_choices_streamed_or_not(sdk):
    answer = sdk.chat.completions.create(model="matriz-echo", messages=ASK, n=3)
    assert [c.index for c in answer.choices] == [0, 1, 2]
    assert {c.message.content for c in answer.choices} == {"alpha beta. gamma delta"}
    single = sdk.chat.completions.create(model="matriz-echo", messages=ASK)
    assert answer.usage.completion_tokens == 3 * single.usage.completion_tokens
    with sdk.chat.completions.stream(model="matriz-echo", messages=ASK, n=2) as stream:
        final = stream.get_final_completion()
    assert [(c.index, c.message.content, c.finish_reason) for c in final.choices] == [
        (0, "alpha beta. gamma delta", "stop"),
        (1, "alpha beta. gamma delta", "stop"),
    ]
    with pytest.raises(openai.BadRequestError) as too_many:
        sdk.chat.completions.create(model="matriz-echo", messages=ASK, n=129)
    assert too_many.value.param == "n"

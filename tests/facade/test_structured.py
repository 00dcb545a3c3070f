"""Structured outputs through the official SDK's ``parse`` helpers, against a live server.

``response_format`` / ``text.format`` are honoured, never ignored: a local
model fills the schema from its answer and recalled memories; an upstream's
answer is checked against the schema (not JSON, or not valid: a 502).
"""

from __future__ import annotations

import json

import openai
import pytest
from pydantic import BaseModel

from tests.facade.tool_upstream import ToolUpstream, upstream_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class Answer(BaseModel):
    answer: str
    confidence: float
    sources: list[str]


class Ticket(BaseModel):
    severity: str
    component: str
    hours: int


def test_chat_parse_fills_the_schema_from_the_answer_and_its_memories(connect):
    sdk = connect()
    index = sdk.post("/indexes", body={"name": "notes"}, cast_to=object)
    memory = "The canary rollout stopped at 5 percent because p95 latency doubled."
    sdk.post(f"/indexes/{index['id']}/items", body={"items": [{"text": memory}]}, cast_to=object)
    completion = sdk.chat.completions.parse(
        model="lukhas-matriz-1",
        messages=[{"role": "user", "content": "Why did the canary rollout stop?"}],
        metadata={"indexes": "notes"},
        response_format=Answer,
    )
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, Answer)
    assert "latency" in parsed.answer and parsed.sources == [memory]

    echo = sdk.chat.completions.parse(
        model="matriz-echo",
        messages=[{"role": "user", "content": "severity high for the gateway, about 6 hours"}],
        response_format=Ticket,
    )
    ticket = echo.choices[0].message.parsed
    assert ticket.hours == 6 and ticket.severity.startswith("severity high")


def test_responses_parse_and_a_json_object(connect):
    sdk = connect()
    parsed = sdk.responses.parse(model="matriz-echo", input="ship it", text_format=Answer)
    assert parsed.output_parsed == Answer(answer="ship it", confidence=0.0, sources=[])
    assert parsed.text.format.type == "json_schema"  # echoed as sent

    plain = sdk.chat.completions.create(
        model="matriz-echo",
        messages=[{"role": "user", "content": "hello"}],
        response_format={"type": "json_object"},
    )
    assert json.loads(plain.choices[0].message.content) == {"answer": "hello", "sources": []}


def test_a_streamed_json_answer_is_whole_json(connect):
    sdk = connect()
    with sdk.chat.completions.stream(
        model="matriz-echo",
        messages=[{"role": "user", "content": "stream me, 3 parts"}],
        response_format=Ticket,
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.parsed.hours == 3


def test_the_upstream_gets_the_schema_and_its_answer_is_checked(connect):
    good = json.dumps({"severity": "low", "component": "db", "hours": 2})
    with ToolUpstream([good, "not json at all", good], json_answers=True) as server:
        sdk = connect(**upstream_env(server))
        ask = [{"role": "user", "content": "file a ticket"}]
        ok = sdk.chat.completions.parse(
            model="lukhas-matriz-1", messages=ask, response_format=Ticket
        )
        assert ok.choices[0].message.parsed == Ticket(severity="low", component="db", hours=2)
        assert server.requests[0]["response_format"]["json_schema"]["name"] == "Ticket"
        with pytest.raises(openai.InternalServerError) as broken:
            sdk.chat.completions.parse(
                model="lukhas-matriz-1", messages=ask, response_format=Ticket
            )
        assert broken.value.status_code == 502
        assert broken.value.body["code"] == "upstream_invalid_output"
        via_responses = sdk.responses.parse(model="lukhas-matriz-1", input="x", text_format=Ticket)
        assert via_responses.output_parsed.hours == 2
        sent = server.requests[2]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True

"""The /v1 latency SLIs' own histograms are exported after real requests."""

from __future__ import annotations

import json

import pytest

from tests.facade.conftest import stream_bytes

pytestmark = pytest.mark.django_db

ROUTE = "v1/chat/completions"
ANSWER = "lukhas_v1_answer_duration_seconds"
FIRST_BYTE = "lukhas_v1_stream_first_byte_seconds"
CHAT = {"model": "matriz-echo", "messages": [{"role": "user", "content": "one two"}]}


def _count(client, name: str, route: str) -> float:
    text = client.get("/metrics").content.decode()
    prefix = f'{name}_count{{route="{route}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def _chat(client, headers: dict[str, str], *, stream: bool):
    response = client.post(
        "/v1/chat/completions",
        data=json.dumps({**CHAT, "stream": stream}),
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    return response


def test_it_times_a_whole_non_streamed_answer(client, api_key_headers):
    before = _count(client, ANSWER, ROUTE)
    streams_before = _count(client, FIRST_BYTE, ROUTE)
    _chat(client, api_key_headers(), stream=False)
    assert _count(client, ANSWER, ROUTE) == before + 1
    assert _count(client, FIRST_BYTE, ROUTE) == streams_before


def test_it_times_a_streams_first_byte_when_the_body_starts(client, api_key_headers):
    before = _count(client, FIRST_BYTE, ROUTE)
    answers_before = _count(client, ANSWER, ROUTE)
    response = _chat(client, api_key_headers(), stream=True)
    assert response.streaming
    # Not before the body is read: the first byte has not left yet.
    assert _count(client, FIRST_BYTE, ROUTE) == before
    assert b"[DONE]" in stream_bytes(response)
    assert _count(client, FIRST_BYTE, ROUTE) == before + 1
    assert _count(client, ANSWER, ROUTE) == answers_before

"""The /v1 latency SLIs' own histograms are exported after real requests."""

from __future__ import annotations

import json

import pytest

from tests.facade.conftest import stream_bytes

pytestmark = pytest.mark.django_db

CHAT = {"model": "matriz-echo", "messages": [{"role": "user", "content": "one two"}]}


def _count(client, name: str, route: str) -> float:
    text = client.get("/metrics").content.decode()
    prefix = f'{name}_count{{route="{route}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def test_it_times_a_whole_non_streamed_answer(client, api_key_headers):
    route = "v1/chat/completions"
    before = _count(client, "lukhas_v1_answer_duration_seconds", route)
    streams_before = _count(client, "lukhas_v1_stream_first_byte_seconds", route)
    response = client.post(
        "/v1/chat/completions",
        data=json.dumps(CHAT),
        content_type="application/json",
        headers=api_key_headers(),
    )
    assert response.status_code == 200
    assert _count(client, "lukhas_v1_answer_duration_seconds", route) == before + 1
    assert _count(client, "lukhas_v1_stream_first_byte_seconds", route) == streams_before


def test_it_times_a_streams_first_byte_when_the_body_starts(client, api_key_headers):
    route = "v1/chat/completions"
    before = _count(client, "lukhas_v1_stream_first_byte_seconds", route)
    answers_before = _count(client, "lukhas_v1_answer_duration_seconds", route)
    response = client.post(
        "/v1/chat/completions",
        data=json.dumps({**CHAT, "stream": True}),
        content_type="application/json",
        headers=api_key_headers(),
    )
    assert response.status_code == 200 and response.streaming
    # Not before the body is read: the first byte has not left yet.
    assert _count(client, "lukhas_v1_stream_first_byte_seconds", route) == before
    assert b"[DONE]" in stream_bytes(response)
    assert _count(client, "lukhas_v1_stream_first_byte_seconds", route) == before + 1
    assert _count(client, "lukhas_v1_answer_duration_seconds", route) == answers_before

"""The input limit holds per request, not only per message, so every accepted body fits the edge."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


def test_it_refuses_a_conversation_over_the_request_total(client, api_key_headers):
    # Three messages of 400k characters: each within the per-message limit, 1.2M in all.
    messages = [{"role": "user", "content": "a" * 400_000} for _ in range(3)]
    response = client.post(
        "/v1/chat/completions",
        data=json.dumps({"model": "matriz-echo", "messages": messages}),
        content_type="application/json",
        headers=api_key_headers(),
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "messages"
    assert "1,200,000 characters" in error["message"] and "1,000,000" in error["message"]


def test_it_counts_instructions_and_input_together(client, api_key_headers):
    body = {"model": "matriz-echo", "input": "b" * 600_000, "instructions": "c" * 600_000}
    response = client.post(
        "/v1/responses",
        data=json.dumps(body),
        content_type="application/json",
        headers=api_key_headers(),
    )
    assert response.status_code == 400
    assert "1,200,000 characters" in response.json()["error"]["message"]


def test_it_still_takes_a_conversation_at_the_total(client, api_key_headers):
    messages = [{"role": "user", "content": "d" * 500_000} for _ in range(2)]
    response = client.post(
        "/v1/chat/completions",
        data=json.dumps({"model": "matriz-echo", "messages": messages}),
        content_type="application/json",
        headers=api_key_headers(),
    )
    assert response.status_code == 200, response.content[:300]

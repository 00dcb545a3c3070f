"""The middleware's async path (uvicorn runs it): auth, limits, idempotency, async streams."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

pytestmark = pytest.mark.django_db(transaction=True)


async def _body(response) -> bytes:
    if response.streaming:
        return b"".join([chunk async for chunk in response.streaming_content])
    return response.content


def test_it_serves_keys_and_limits_on_the_async_path(mint_key):
    plaintext, _ = mint_key(scopes=["responses:write"], rpm=3)

    async def scenario() -> None:
        client = AsyncClient()
        auth = {"Authorization": f"Bearer {plaintext}"}
        first = await client.get("/api/guardian/me", headers=auth)
        assert first.status_code == 200
        assert first["x-ratelimit-remaining-requests"] == "2"
        reported = await client.post(
            "/api/guardian/usage",
            {"tokens": 9},
            content_type="application/json",
            headers={**auth, "Idempotency-Key": "async-1"},
        )
        assert reported.status_code == 200, reported.content
        replayed = await client.post(
            "/api/guardian/usage",
            {"tokens": 9},
            content_type="application/json",
            headers={**auth, "Idempotency-Key": "async-1"},
        )
        assert replayed["Idempotent-Replayed"] == "true"
        refused = await client.get("/api/guardian/me", headers=auth)
        assert refused.status_code == 429
        bad = await AsyncClient().get("/v1/x", headers={"Authorization": "Bearer lk-nope"})
        assert bad.status_code == 401

    async_to_sync(scenario)()


@pytest.mark.urls("tests.guardian.urls_stream")
def test_it_records_and_replays_an_async_stream(mint_key):
    from tests.guardian import urls_stream

    urls_stream.calls.clear()
    plaintext, _ = mint_key(scopes=[], rpm=10)

    async def scenario() -> None:
        client = AsyncClient()
        headers = {"Authorization": f"Bearer {plaintext}", "Idempotency-Key": "astream"}
        first = await client.post("/v1/_test/astream", headers=headers)
        assert first["x-ratelimit-limit-requests"] == "10"
        body = await _body(first)
        assert body.startswith(b"data: alpha")
        again = await client.post("/v1/_test/astream", headers=headers)
        assert again["Idempotent-Replayed"] == "true"
        assert await _body(again) == body

    async_to_sync(scenario)()
    assert urls_stream.calls == ["astream"]


def test_it_charges_tokens_from_an_async_view(mint_key):
    from guardian import ratelimit
    from guardian.principals import key_principal

    _, key = mint_key(scopes=[], tpm=1_000)
    outcome = async_to_sync(ratelimit.acharge_tokens)(key_principal(key), 400)
    assert outcome.levels["key_tokens"].remaining == 600

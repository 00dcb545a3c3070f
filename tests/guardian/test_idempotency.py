"""Idempotency-Key: replay, conflict, in flight, what is kept, streams, restarts."""

from __future__ import annotations

import threading

import httpx
import pytest
from django.db import connection
from django.test import Client

from guardian import idempotency, ratelimit
from tests.guardian.helpers import sample

pytestmark = pytest.mark.django_db

USAGE = "/api/guardian/usage"


def _post(client, headers, key, tokens=5, path=USAGE):
    return client.post(
        path,
        {"tokens": tokens},
        content_type="application/json",
        headers={**headers, "Idempotency-Key": key},
    )


def _usage(client, headers) -> int:
    return client.get("/api/guardian/me", headers=headers).json()["usage_today"]["tokens"]


def test_it_replays_the_stored_response_for_the_same_key_and_body(client, api_key_headers):
    headers = api_key_headers(scopes=["responses:write"])
    replays = sample("lukhas_idempotency_total", result="replayed")
    first = _post(client, headers, "report-1", tokens=7)
    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first
    again = _post(client, headers, "report-1", tokens=7)
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    # Charged once, and the replay still carries fresh rate-limit headers.
    assert _usage(client, headers) == 7
    assert "x-ratelimit-remaining-requests" in again
    assert again["X-Request-ID"] != first["X-Request-ID"]
    assert sample("lukhas_idempotency_total", result="replayed") == replays + 1


def test_it_refuses_the_same_key_with_a_different_body(client, api_key_headers):
    headers = api_key_headers(scopes=["responses:write"])
    assert _post(client, headers, "report-2", tokens=7).status_code == 200
    conflict = _post(client, headers, "report-2", tokens=8)
    assert conflict.status_code == 422
    error = conflict.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["param"] == "Idempotency-Key"
    assert "different request" in error["message"]
    assert _usage(client, headers) == 7


def test_it_scopes_keys_per_api_key(client, api_key_headers):
    first = api_key_headers(scopes=["responses:write"])
    second = api_key_headers(scopes=["responses:write"])
    assert _post(client, first, "same-key", tokens=3).status_code == 200
    other = _post(client, second, "same-key", tokens=4)
    assert other.status_code == 200
    assert "Idempotent-Replayed" not in other
    assert _usage(client, second) == 4


def test_it_refuses_keys_longer_than_255_characters(client, api_key_headers):
    headers = api_key_headers(scopes=["responses:write"])
    assert _post(client, headers, "k" * 255).status_code == 200
    too_long = _post(client, headers, "k" * 256)
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "invalid_idempotency_key"


def test_it_does_not_keep_validation_failures_or_refusals(client, api_key_headers):
    headers = api_key_headers(scopes=["responses:write"])
    invalid = client.post(
        USAGE,
        {"tokens": -1},
        content_type="application/json",
        headers={**headers, "Idempotency-Key": "fix-me"},
    )
    assert invalid.status_code == 422
    # The key is free again: the corrected request (a different body) runs.
    fixed = _post(client, headers, "fix-me", tokens=2)
    assert fixed.status_code == 200
    assert "Idempotent-Replayed" not in fixed

    no_scope = api_key_headers(scopes=[])
    assert _post(client, no_scope, "scoped").status_code == 403
    assert _post(client, no_scope, "scoped").status_code == 403  # not a replay


def test_it_does_not_keep_429s(client, api_key_headers):
    headers = api_key_headers(scopes=["responses:write"], rpm=1)
    assert _post(client, headers, "a").status_code == 200
    assert _post(client, headers, "b").status_code == 429
    # Neither kept under "b": once the bucket refills "b" would run (not replay a 429).
    assert idempotency.should_store(429) is False


@pytest.mark.urls("tests.guardian.urls_stream")
def test_it_keeps_server_errors(client, api_key_headers):
    from tests.guardian import urls_stream

    urls_stream.calls.clear()
    headers = api_key_headers(scopes=[])
    first = client.post("/v1/_test/broken", headers={**headers, "Idempotency-Key": "e1"})
    again = client.post("/v1/_test/broken", headers={**headers, "Idempotency-Key": "e1"})
    assert first.status_code == again.status_code == 502
    assert again["Idempotent-Replayed"] == "true"
    assert urls_stream.calls == ["broken"]


@pytest.mark.urls("tests.guardian.urls_stream")
@pytest.mark.parametrize("path", ["/v1/_test/stream", "/v1/_test/astream"])
def test_it_records_a_stream_whole_and_replays_it(client, api_key_headers, path):
    from tests.guardian import urls_stream

    urls_stream.calls.clear()
    headers = {**api_key_headers(scopes=[]), "Idempotency-Key": "stream-1"}
    first = client.post(path, headers=headers)
    assert first.streaming
    if first.is_async:
        from asgiref.sync import async_to_sync

        async def collect():
            return b"".join([chunk async for chunk in first.streaming_content])

        body = async_to_sync(collect)()
    else:
        body = b"".join(first.streaming_content)
    assert body.endswith(b"\n\n") and b"call 1" in body
    again = client.post(path, headers=headers)
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == body
    assert again["Content-Type"] == "text/event-stream"
    assert len(urls_stream.calls) == 1


@pytest.mark.urls("tests.guardian.urls_stream")
def test_it_releases_the_key_of_a_stream_cut_short(client, api_key_headers):
    headers = {**api_key_headers(scopes=[]), "Idempotency-Key": "cut"}
    first = client.post("/v1/_test/stream", headers=headers)
    iterator = iter(first.streaming_content)
    next(iterator)
    first.close()  # the client went away after the first chunk (the server closes the stream)
    again = client.post("/v1/_test/stream", headers=headers)
    assert "Idempotent-Replayed" not in again


@pytest.mark.django_db(transaction=True)
def test_it_answers_409_while_the_same_key_is_in_flight(api_key_headers, monkeypatch):
    headers = {**api_key_headers(scopes=["responses:write"]), "Idempotency-Key": "slow"}
    entered, release = threading.Event(), threading.Event()
    original = ratelimit.charge_tokens

    def slow_charge(principal, n):
        entered.set()
        release.wait(10)
        return original(principal, n)

    monkeypatch.setattr(ratelimit, "charge_tokens", slow_charge)
    results = {}

    def first_request() -> None:
        try:
            results["first"] = _post(Client(), headers, "slow")
        finally:
            connection.close()

    worker = threading.Thread(target=first_request)
    worker.start()
    assert entered.wait(10)
    second = _post(Client(), headers, "slow")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "idempotency_key_in_use"
    assert second["Retry-After"] == "1"
    release.set()
    worker.join(10)
    assert results["first"].status_code == 200
    third = _post(Client(), headers, "slow")
    assert third["Idempotent-Replayed"] == "true"


def test_it_lets_a_dead_holders_key_go_after_the_lock_time(client, api_key_headers, settings):
    settings.GUARDIAN_IDEMPOTENCY_LOCK_SECONDS = 0  # the holder "crashed" long ago
    headers = api_key_headers(scopes=["responses:write"])
    from django.test import RequestFactory

    request = RequestFactory().post(USAGE, b'{"tokens": 5}', content_type="application/json")
    begun = idempotency.begin(scope="k0", key="orphan", request=request)
    assert begun.claim == idempotency.Claim.NEW
    again = idempotency.begin(scope="k0", key="orphan", request=request)
    assert again.claim == idempotency.Claim.NEW
    assert _post(client, headers, "orphan").status_code == 200


def test_it_expires_stored_responses_after_the_ttl(client, api_key_headers, settings):
    import time_machine
    from django.utils import timezone

    settings.GUARDIAN_IDEMPOTENCY_TTL_SECONDS = 60
    settings.GUARDIAN_REDIS_URL = ""  # time_machine moves this process's clock, not Redis's
    headers = api_key_headers(scopes=["responses:write"], rpm=1000)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert _post(client, headers, "ttl").status_code == 200
        assert _post(client, headers, "ttl")["Idempotent-Replayed"] == "true"
        clock.shift(61)
        assert "Idempotent-Replayed" not in _post(client, headers, "ttl")


def test_it_scopes_session_keys_per_user(bob_client, alice_client):
    first = bob_client.post("/api/guardian/policy/reload", headers={"Idempotency-Key": "r1"})
    again = bob_client.post("/api/guardian/policy/reload", headers={"Idempotency-Key": "r1"})
    assert first.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    # alice's refusal (not staff) is hers, not a replay of bob's answer.
    refused = alice_client.post("/api/guardian/policy/reload", headers={"Idempotency-Key": "r1"})
    assert refused.status_code == 403


# --- Redis: records survive an app restart --------------------------------------------


@pytest.mark.integration
@pytest.mark.e2e
def test_it_replays_after_the_app_restarts_with_redis(live_site, mint_key):
    from tests.services import require_redis

    require_redis()
    plaintext, _ = mint_key(scopes=["responses:write"])
    headers = {"Authorization": f"Bearer {plaintext}", "Idempotency-Key": "restart-1"}
    site = live_site()
    first = httpx.post(f"{site.base}{USAGE}", json={"tokens": 11}, headers=headers, timeout=10)
    assert first.status_code == 200, first.text
    site.stop()
    site = live_site()  # a new process: nothing in memory survived
    again = httpx.post(f"{site.base}{USAGE}", json={"tokens": 11}, headers=headers, timeout=10)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    me = httpx.get(f"{site.base}/api/guardian/me", headers=headers, timeout=10).json()
    assert me["usage_today"]["tokens"] == 11
    conflict = httpx.post(f"{site.base}{USAGE}", json={"tokens": 12}, headers=headers, timeout=10)
    assert conflict.status_code == 422


@pytest.mark.integration
def test_it_keeps_records_in_redis(client, api_key_headers, redis_limiter):
    from guardian import redis_client
    from guardian.models import IdempotencyRecord

    headers = api_key_headers(scopes=["responses:write"])
    assert _post(client, headers, "in-redis").status_code == 200
    assert _post(client, headers, "in-redis")["Idempotent-Replayed"] == "true"
    assert not IdempotencyRecord.objects.exists()
    stored = list(redis_client.client().scan_iter(match=redis_client.key("*", "idem", "*")))
    assert len(stored) == 1
    ttl = redis_client.client().pttl(stored[0])
    assert 86_000_000 < ttl <= 86_400_000

"""Redis goes away mid-test and comes back: configured behaviour, never a 500.

Each test starts a redis-server of its own on a free port (the machine's
shared Redis is never stopped or flushed).
"""

from __future__ import annotations

import logging

import pytest

from tests.guardian.helpers import sample

pytestmark = pytest.mark.django_db


def _bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def limited(settings, own_redis, mint_key):
    settings.GUARDIAN_REDIS_URL = own_redis.url
    settings.GUARDIAN_REDIS_RETRY_SECONDS = 0  # retry Redis on every request, for the test
    plaintext, _ = mint_key(scopes=["responses:write"], rpm=2)
    return own_redis, plaintext


def test_it_fails_open_by_default_with_a_metric_and_a_warning(client, limited, caplog):
    server, plaintext = limited
    assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404
    server.stop()
    opened = sample("lukhas_guardian_backend_errors_total", operation="rate_limit", outcome="open")
    with caplog.at_level(logging.WARNING, logger="guardian"):
        answers = [client.get("/v1/x", headers=_bearer(plaintext)) for _ in range(5)]
    # Over the limit of 2 a minute, yet served: the limiter is away and the mode is open.
    assert [a.status_code for a in answers] == [404] * 5
    assert answers[0]["x-ratelimit-limit-requests"] == "2"
    assert (
        sample("lukhas_guardian_backend_errors_total", operation="rate_limit", outcome="open")
        == opened + 5
    )
    assert any("Redis unavailable" in r.getMessage() for r in caplog.records)
    me = client.get("/api/guardian/me", headers=_bearer(plaintext))
    assert me.status_code == 200
    assert me.json()["degraded"] is True

    server.start()  # same port: limiting resumes
    statuses = [client.get("/v1/x", headers=_bearer(plaintext)).status_code for _ in range(3)]
    assert statuses[-1] == 429
    assert 500 not in statuses


def test_it_fails_closed_with_503_when_configured(client, limited, settings):
    settings.GUARDIAN_FAIL_MODE = "closed"
    server, plaintext = limited
    assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404
    server.stop()
    refused = client.get("/v1/x", headers=_bearer(plaintext))
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "service_unavailable"
    assert error["type"] == "server_error"
    assert refused["Retry-After"] == "1"
    api = client.get("/api/guardian/me", headers=_bearer(plaintext))
    assert api.status_code == 503
    server.start()
    assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404


def test_it_keeps_idempotent_posts_working_while_redis_is_away(client, limited):
    server, plaintext = limited
    headers = {**_bearer(plaintext), "Idempotency-Key": "during-outage"}
    server.stop()
    answer = client.post(
        "/api/guardian/usage", {"tokens": 3}, content_type="application/json", headers=headers
    )
    # Open mode: the request runs (unprotected); charging tokens is skipped, not a crash.
    assert answer.status_code == 200
    assert answer.json()["degraded"] is True


def test_it_refuses_idempotent_posts_when_closed(client, limited, settings):
    settings.GUARDIAN_FAIL_MODE = "closed"
    server, plaintext = limited
    server.stop()
    answer = client.post(
        "/api/guardian/usage",
        {"tokens": 3},
        content_type="application/json",
        headers={**_bearer(plaintext), "Idempotency-Key": "k"},
    )
    assert answer.status_code == 503


def test_it_skips_redis_for_a_moment_after_an_error(client, limited, settings, monkeypatch):
    """The breaker: a flood during an outage does not pay a failed connect per request."""
    from guardian import redis_client

    settings.GUARDIAN_REDIS_RETRY_SECONDS = 30
    server, plaintext = limited
    server.stop()
    client.get("/v1/x", headers=_bearer(plaintext))
    attempts = []
    monkeypatch.setattr(redis_client, "client", lambda: attempts.append(1))
    for _ in range(5):
        assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404
    assert attempts == []

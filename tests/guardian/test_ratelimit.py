"""Rate limits and quotas: headers, 429s, tenants, token charges, exactness under concurrency."""

from __future__ import annotations

import math
import re
import threading
import time

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from guardian import ratelimit
from guardian.auth import key_principal
from tests.guardian.helpers import run_children, sample
from tests.services import worker_env

pytestmark = pytest.mark.django_db

RESET = re.compile(r"^(\d+ms|(\d+h)?(\d+m)?\d+(\.\d+)?s)$")


def _bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (12, "12ms"),
        (999, "999ms"),
        (1000, "1s"),
        (1500, "1.5s"),
        (59_999, "59.999s"),
        (60_000, "1m0s"),
        (360_000, "6m0s"),
        (61_500, "1m1.5s"),
        (3_600_000, "1h0m0s"),
    ],
)
def test_it_formats_resets_as_openai_does(ms, text):
    assert ratelimit.format_reset(ms) == text


def test_it_puts_rate_limit_headers_on_every_v1_and_api_response(client, mint_key):
    plaintext, _ = mint_key(scopes=["models:read"], rpm=100, tpm=50_000, quota=900_000)
    for path in ("/v1/no-such-op", "/api/guardian/me"):
        response = client.get(path, headers=_bearer(plaintext))
        assert response["x-ratelimit-limit-requests"] == "100"
        assert response["x-ratelimit-limit-tokens"] == "50000"
        assert int(response["x-ratelimit-remaining-requests"]) in (98, 99)
        assert response["x-ratelimit-remaining-tokens"] == "50000"
        assert RESET.match(response["x-ratelimit-reset-requests"])
        assert RESET.match(response["x-ratelimit-reset-tokens"])
        assert response["x-ratelimit-reset-tokens"] == "0s"
        policy = response["RateLimit-Policy"]
        assert '"requests";q=100;w=60' in policy
        assert '"tokens";q=50000;w=60' in policy
        assert '"daily-tokens";q=900000;w=86400' in policy
        current = response["RateLimit"]
        assert re.search(r'"requests";r=9[89];t=\d+', current)
        assert '"tokens";r=50000;t=0' in current


def test_it_counts_down_and_resets_the_requests_bucket(client, mint_key):
    plaintext, _ = mint_key(scopes=[], rpm=60)
    remaining = [
        int(
            client.get("/api/guardian/me", headers=_bearer(plaintext))[
                "x-ratelimit-remaining-requests"
            ]
        )
        for _ in range(3)
    ]
    assert remaining == [59, 58, 57]
    reset = client.get("/api/guardian/me", headers=_bearer(plaintext))["x-ratelimit-reset-requests"]
    # 4 tokens short of full at 1 a second: about 4 s (a little less as time passed).
    seconds = float(reset.removesuffix("s")) if not reset.endswith("ms") else 0
    assert 2 < seconds <= 4


def test_it_refuses_over_the_limit_with_a_429_in_the_openai_envelope(client, mint_key):
    plaintext, _ = mint_key(scopes=[], rpm=3)
    statuses = [
        client.get("/v1/models-x", headers=_bearer(plaintext)).status_code for _ in range(3)
    ]
    assert statuses == [404, 404, 404]
    before = sample("lukhas_ratelimit_throttled_total", limit="key_requests")
    refused = client.get("/v1/models-x", headers=_bearer(plaintext))
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == "rate_limit_exceeded"
    assert error["type"] == "requests"
    assert "Please try again in" in error["message"]
    wait_ms = int(refused["retry-after-ms"])
    assert 0 < wait_ms <= 20_000  # one request token at 3 a minute
    assert refused["Retry-After"] == str(math.ceil(wait_ms / 1000))
    assert refused["x-ratelimit-remaining-requests"] == "0"
    assert "x-should-retry" not in refused
    assert sample("lukhas_ratelimit_throttled_total", limit="key_requests") == before + 1


def test_it_refuses_in_the_ops_envelope_on_api(client, mint_key):
    plaintext, _ = mint_key(scopes=[], rpm=1)
    client.get("/api/guardian/me", headers=_bearer(plaintext))
    refused = client.get("/api/guardian/me", headers=_bearer(plaintext))
    assert refused.status_code == 429
    assert set(refused.json()["error"]) == {"code", "message", "param"}
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"


def test_it_caps_retry_after_at_60_seconds(client, mint_key):
    plaintext, key = mint_key(scopes=[], tpm=100)
    ratelimit.charge_tokens(key_principal(key), 1000)  # 10 minutes of debt
    refused = client.get("/v1/x", headers=_bearer(plaintext))
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "tokens"
    assert refused["Retry-After"] == "60"
    assert refused["retry-after-ms"] == "60000"
    assert "Please try again in 9m" in refused.json()["error"]["message"]


def test_it_refuses_a_spent_daily_quota_for_good(client, mint_key):
    plaintext, key = mint_key(scopes=[], quota=1000, tpm=1_000_000)
    ratelimit.charge_tokens(key_principal(key), 1000)
    refused = client.get("/v1/x", headers=_bearer(plaintext))
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "insufficient_quota"
    assert error["type"] == "insufficient_quota"
    assert refused["x-should-retry"] == "false"
    assert "retry-after-ms" not in refused


def test_it_shares_tenant_limits_between_its_keys(client, mint_key):
    first, _ = mint_key(scopes=[], tenant="acme", rpm=100, tenant_rpm=3)
    second, _ = mint_key(scopes=[], tenant="acme", rpm=100, tenant_rpm=3)
    codes = [client.get("/v1/x", headers=_bearer(k)).status_code for k in (first, second, first)]
    assert codes == [404, 404, 404]
    refused = client.get("/v1/x", headers=_bearer(second))
    assert refused.status_code == 429
    assert "tenant" in refused.json()["error"]["message"]
    # The headers report the binding limit: the tenant's.
    assert refused["x-ratelimit-limit-requests"] == "3"


def test_it_charges_tokens_after_the_answer(client, mint_key):
    plaintext, key = mint_key(scopes=[], tpm=10_000, quota=50_000)
    principal = key_principal(key)
    outcome = ratelimit.charge_tokens(principal, 2_500)
    assert outcome.levels["key_tokens"].remaining == 7_500
    response = client.get("/api/guardian/me", headers=_bearer(plaintext))
    assert int(response["x-ratelimit-remaining-tokens"]) in range(7_500, 7_600)
    body = response.json()
    assert body["usage_today"] == {"requests": 1, "tokens": 2_500}
    assert body["remaining"]["daily_tokens"] == 47_500
    assert ratelimit.charge_tokens(principal, 0) is None


def test_it_takes_usage_reports_over_the_api(client, mint_key):
    plaintext, _ = mint_key(scopes=["responses:write"], tpm=10_000)
    response = client.post(
        "/api/guardian/usage",
        {"tokens": 1234, "model": "lukhas-matriz"},
        content_type="application/json",
        headers=_bearer(plaintext),
    )
    assert response.status_code == 200, response.content
    assert response.json()["charged"] == 1234
    assert response.json()["usage_today"]["tokens"] == 1234


def test_it_checks_the_facades_token_estimate_before_the_request(client, mint_key):
    plaintext, _ = mint_key(scopes=[], tpm=1_000)
    ratelimit.register_token_estimator("/v1/responses", lambda request: 5_000)
    try:
        refused = client.post(
            "/v1/responses", {}, content_type="application/json", headers=_bearer(plaintext)
        )
        assert refused.status_code == 429
        assert refused.json()["error"]["type"] == "tokens"
        # Other paths are not estimated.
        other = client.get("/v1/_guardian_unestimated", headers=_bearer(plaintext))
        assert other.status_code == 404
    finally:
        ratelimit._estimators.clear()


def test_it_refills_over_time(client, mint_key, settings):
    settings.GUARDIAN_REDIS_URL = ""  # time_machine moves this process's clock, not Redis's
    plaintext, _ = mint_key(scopes=[], rpm=2)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404
        assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404
        assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 429
        clock.shift(31)  # one token back at 2 a minute
        assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404
        assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 429


def test_it_does_not_limit_dashboard_sessions(alice_client):
    response = alice_client.get("/api/guardian/me")
    assert response.status_code == 200
    assert "x-ratelimit-limit-requests" not in response


@pytest.mark.urls("tests.guardian.urls_stream")
def test_it_sets_the_headers_before_a_stream_starts(client, mint_key):
    from tests.guardian import urls_stream

    urls_stream.produced.clear()
    plaintext, _ = mint_key(scopes=[], rpm=10)
    response = client.get("/v1/_test/stream", headers=_bearer(plaintext))
    assert response.streaming
    assert response["x-ratelimit-limit-requests"] == "10"
    assert response["RateLimit"].startswith('"requests";r=9')
    assert urls_stream.produced == []  # headers are there before the first chunk exists
    body = b"".join(response.streaming_content)
    assert body.startswith(b"data: one")
    assert urls_stream.produced == ["first chunk"]


# --- exact under concurrency -----------------------------------------------------------


def _hammer_in_threads(principal, threads: int, attempts: int) -> int:
    allowed = []
    start = threading.Barrier(threads)

    def work() -> None:
        try:
            start.wait()
            allowed.append(sum(ratelimit.check_request(principal).allowed for _ in range(attempts)))
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(allowed)


CHILD = """
import os, pathlib, time
import django
django.setup()
from guardian import ratelimit
from guardian.auth import key_principal
from guardian.models import APIKey
key = APIKey.objects.select_related("tenant").get(pk=int(os.environ["KEY_ID"]))
principal = key_principal(key)
ratelimit.effective_limits(principal)
barrier = pathlib.Path(os.environ["BARRIER"])
(barrier / f"ready-{os.getpid()}").touch()
while not (barrier / "go").exists():
    time.sleep(0.002)
print(sum(ratelimit.check_request(principal).allowed for _ in range(int(os.environ["ATTEMPTS"]))))
"""


def _hammer_in_processes(key, processes: int, attempts: int, barrier, **env: str) -> int:
    """Start the children, wait until every one is ready, then let them all go at once."""
    results: list[list[str]] = []
    runner = threading.Thread(
        target=lambda: results.append(
            run_children(
                CHILD,
                processes,
                worker_env(KEY_ID=str(key.pk), ATTEMPTS=str(attempts), BARRIER=str(barrier), **env),
            )
        )
    )
    runner.start()
    deadline = time.monotonic() + 120
    while len(list(barrier.glob("ready-*"))) < processes and time.monotonic() < deadline:
        time.sleep(0.05)
    (barrier / "go").touch()
    runner.join(120)
    return sum(int(out.strip()) for out in results[0])


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_the_limit_through_from_threads_on_the_database(mint_key):
    # 10 a minute refills one every 6 s: the whole burst is over long before.
    _, key = mint_key(scopes=[], rpm=10)
    assert _hammer_in_threads(key_principal(key), threads=8, attempts=6) == 10


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_the_limit_through_from_processes_on_the_sqlite_file(mint_key, tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the embedded backend's cross-process test is about the SQLite file")
    _, key = mint_key(scopes=[], rpm=10, tenant_rpm=None)
    assert _hammer_in_processes(key, processes=5, attempts=8, barrier=tmp_path) == 10


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_the_limit_through_from_threads_on_redis(mint_key, redis_limiter):
    # 20 a minute refills one every 3 s: the burst is over long before.
    _, key = mint_key(scopes=[], rpm=20)
    assert _hammer_in_threads(key_principal(key), threads=16, attempts=20) == 20


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_the_limit_through_from_processes_on_redis(
    mint_key, redis_limiter, guardian_redis_prefix, tmp_path
):
    # The tenant's 12 a minute (one every 5 s) bind before the key's 40.
    _, key = mint_key(scopes=[], rpm=40, tenant="shared", tenant_rpm=12)
    allowed = _hammer_in_processes(
        key,
        processes=6,
        attempts=25,
        barrier=tmp_path,
        LUKHAS_GUARDIAN_REDIS_URL=redis_limiter,
        LUKHAS_GUARDIAN_REDIS_PREFIX=guardian_redis_prefix,
    )
    assert allowed == 12


@pytest.mark.integration
def test_it_needs_one_redis_round_trip_per_request(client, mint_key, redis_limiter, monkeypatch):
    from guardian import redis_client

    plaintext, key = mint_key(scopes=[], rpm=100, tenant_rpm=100, tenant_tpm=10_000)
    client.get("/api/guardian/me", headers=_bearer(plaintext))  # loads the script once
    redis = redis_client.client()
    calls = []
    original = redis.execute_command

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(redis, "execute_command", counting)
    outcome = ratelimit.check_request(key_principal(key))
    assert outcome.allowed
    assert calls == ["EVALSHA"]
    # Keys of one tenant share a hash tag, so a Redis Cluster keeps them in one slot.
    buckets, counters = ratelimit.plan(key_principal(key), requests=1, need_tokens=1, tokens=0)
    tags = {re.search(r"\{[^}]+\}", spec.key).group(0) for spec in [*buckets, *counters]}
    assert tags == {f"{{t{key.tenant_id}}}"}


@pytest.mark.integration
def test_it_limits_over_http_with_redis(client, mint_key, redis_limiter):
    plaintext, _ = mint_key(scopes=[], rpm=2)
    assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404
    assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 404
    refused = client.get("/v1/x", headers=_bearer(plaintext))
    assert refused.status_code == 429
    assert refused["x-ratelimit-remaining-requests"] == "0"

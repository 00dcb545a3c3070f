"""Rate limits and quotas: headers, 429s, tenants, reservations, exactness under concurrency.

The cases that do not depend on a clock of ours run against both backends
(``backend``: the database transaction and the Redis Lua script), so the two
are held to the same behaviour; the Redis ones are in the integration pass.
"""

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
from guardian.principals import key_principal
from tests.guardian.helpers import run_children, sample
from tests.services import require_redis, worker_env

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.integration)])
def backend(request, settings, guardian_redis_prefix) -> str:
    """The limiter's store: the database (embedded mode) or Redis (production)."""
    settings.GUARDIAN_REDIS_URL = require_redis() if request.param == "redis" else ""
    return request.param


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


def test_it_puts_rate_limit_headers_on_every_v1_and_api_response(client, mint_key, backend):
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


def test_it_counts_down_and_resets_the_requests_bucket(client, mint_key, backend):
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


def test_it_refuses_over_the_limit_with_a_429_in_the_openai_envelope(client, mint_key, backend):
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


def test_it_refuses_in_the_ops_envelope_on_api(client, mint_key, backend):
    plaintext, _ = mint_key(scopes=[], rpm=1)
    client.get("/api/guardian/me", headers=_bearer(plaintext))
    refused = client.get("/api/guardian/me", headers=_bearer(plaintext))
    assert refused.status_code == 429
    assert set(refused.json()["error"]) == {"code", "message", "param"}
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"


def test_it_caps_retry_after_at_60_seconds(client, mint_key, backend):
    plaintext, key = mint_key(scopes=[], tpm=100)
    ratelimit.charge_tokens(key_principal(key), 1000)  # 10 minutes of debt
    refused = client.get("/v1/x", headers=_bearer(plaintext))
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "tokens"
    assert refused["Retry-After"] == "60"
    assert refused["retry-after-ms"] == "60000"
    assert "Please try again in 9m" in refused.json()["error"]["message"]


def test_it_refuses_a_spent_daily_quota_for_good(client, mint_key, backend):
    plaintext, key = mint_key(scopes=[], quota=1000, tpm=1_000_000)
    ratelimit.charge_tokens(key_principal(key), 1000)
    refused = client.get("/v1/x", headers=_bearer(plaintext))
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "insufficient_quota"
    assert error["type"] == "insufficient_quota"
    assert refused["x-should-retry"] == "false"
    assert "retry-after-ms" not in refused


def test_it_shares_tenant_limits_between_its_keys(client, mint_key, backend):
    first, _ = mint_key(scopes=[], tenant="acme", rpm=100, tenant_rpm=3)
    second, _ = mint_key(scopes=[], tenant="acme", rpm=100, tenant_rpm=3)
    codes = [client.get("/v1/x", headers=_bearer(k)).status_code for k in (first, second, first)]
    assert codes == [404, 404, 404]
    refused = client.get("/v1/x", headers=_bearer(second))
    assert refused.status_code == 429
    assert "tenant" in refused.json()["error"]["message"]
    # The headers report the binding limit: the tenant's.
    assert refused["x-ratelimit-limit-requests"] == "3"


def test_it_charges_tokens_after_the_answer(client, mint_key, backend):
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


def test_it_takes_usage_reports_over_the_api(client, mint_key, backend):
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


def test_it_checks_the_facades_token_estimate_before_the_request(client, mint_key, backend):
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


def test_it_shares_a_tenants_daily_quota_between_its_keys(client, mint_key, backend):
    _, key = mint_key(scopes=[], tenant="acme", tenant_quota=500)
    second, _ = mint_key(scopes=[], tenant="acme", tenant_quota=500)
    ratelimit.charge_tokens(key_principal(key), 500)
    refused = client.get("/v1/x", headers=_bearer(second))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "insufficient_quota"
    message = refused.json()["error"]["message"]
    assert "daily token quota of this tenant (500 tokens a day" in message
    assert refused["x-should-retry"] == "false"


def test_it_refills_the_tokens_bucket_in_real_time(mint_key, backend):
    _, key = mint_key(scopes=[], tpm=600)  # 10 tokens a second
    principal = key_principal(key)
    ratelimit.charge_tokens(principal, 600)
    refused = ratelimit.check_request(principal)
    assert not refused.allowed
    assert refused.denied == "key_tokens"
    assert 0 < refused.retry_after_ms <= 100  # one token at 10 a second
    time.sleep(0.3)
    assert ratelimit.check_request(principal).allowed


def test_it_goes_into_debt_and_waits_it_out(mint_key, backend):
    _, key = mint_key(scopes=[], tpm=600)
    principal = key_principal(key)
    outcome = ratelimit.charge_tokens(principal, 615)  # 15 tokens of debt: 1.6 s to one token
    assert outcome.levels["key_tokens"].remaining == 0
    refused = ratelimit.check_request(principal)
    assert refused.denied == "key_tokens"
    assert 1_400 <= refused.retry_after_ms <= 1_600


# --- reservations: the estimate is taken up front, then settled ------------------------


def test_it_reserves_the_estimate_before_the_work(mint_key, backend):
    _, key = mint_key(scopes=[], tpm=1_000, quota=100_000)
    first, second, third = (key_principal(key) for _ in range(3))
    assert ratelimit.check_request(first, estimate=400).allowed
    assert ratelimit.check_request(second, estimate=400).allowed
    # 200 left: the third cannot pass on tokens the first two already hold.
    refused = ratelimit.check_request(third, estimate=400)
    assert not refused.allowed
    assert refused.denied == "key_tokens"
    assert third.reservation is None
    assert first.reservation.tokens == 400


def test_it_settles_by_refunding_or_charging_the_remainder(mint_key, backend):
    _, key = mint_key(scopes=[], tpm=10_000, quota=100_000)
    cheap, dear = key_principal(key), key_principal(key)
    ratelimit.check_request(cheap, estimate=1_000)
    ratelimit.check_request(dear, estimate=1_000)
    used = ratelimit.peek(key_principal(key)).counters["key_daily_tokens"][1]
    assert used == 2_000
    refunded = ratelimit.charge_tokens(cheap, 300)  # 700 back
    assert refunded.counters["key_daily_tokens"][1] == 1_300
    charged = ratelimit.charge_tokens(dear, 1_500)  # 500 more
    assert charged.counters["key_daily_tokens"][1] == 1_800
    assert 8_200 <= charged.levels["key_tokens"].remaining < 8_300
    # Settled once: a second report of the same principal is a plain charge.
    assert ratelimit.charge_tokens(cheap, 100).counters["key_daily_tokens"][1] == 1_900


def test_it_releases_the_reservation_of_a_request_that_did_not_settle(mint_key, backend):
    _, key = mint_key(scopes=[], tpm=1_000, quota=5_000)
    principal = key_principal(key)
    ratelimit.check_request(principal, estimate=900)
    assert ratelimit.peek(principal).counters["key_daily_tokens"][1] == 900
    ratelimit.release(principal)
    outcome = ratelimit.peek(principal)
    assert outcome.counters["key_daily_tokens"][1] == 0
    assert outcome.levels["key_tokens"].remaining == 1_000
    assert principal.reservation.settled
    ratelimit.release(principal)  # once only
    assert ratelimit.peek(principal).counters["key_daily_tokens"][1] == 0


def test_it_releases_what_a_refused_or_plain_request_reserved_over_http(client, mint_key, backend):
    plaintext, key = mint_key(scopes=[], tpm=1_000, quota=5_000)
    ratelimit.register_token_estimator("/v1/", lambda request: 600)
    try:
        # 404 (no such operation): the work did not happen, the estimate comes back.
        for _ in range(3):
            assert client.post("/v1/_no_such_op", headers=_bearer(plaintext)).status_code == 404
    finally:
        ratelimit._estimators.clear()
    outcome = ratelimit.peek(key_principal(key))
    assert outcome.counters["key_daily_tokens"][1] == 0
    assert outcome.levels["key_tokens"].remaining == 1_000


def test_it_always_lets_a_key_read_its_budget(client, mint_key, backend):
    plaintext, key = mint_key(scopes=[], tpm=1_000, quota=1_000)
    ratelimit.charge_tokens(key_principal(key), 5_000)  # quota spent, bucket deep in debt
    assert client.get("/v1/x", headers=_bearer(plaintext)).status_code == 429
    me = client.get("/api/guardian/me", headers=_bearer(plaintext))
    assert me.status_code == 200
    assert me.json()["remaining"]["daily_tokens"] == 0
    assert me.json()["usage_today"]["tokens"] == 5_000
    # It is never charged: reading it twice spends nothing.
    again = client.get("/api/guardian/me", headers=_bearer(plaintext))
    assert again.json()["usage_today"]["tokens"] == 5_000


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


def _daily_tokens(key) -> int:
    return ratelimit.peek(key_principal(key)).counters["key_daily_tokens"][1]


@pytest.mark.urls("tests.guardian.urls_stream")
@pytest.mark.django_db(transaction=True)  # closing a response closes the connection
def test_it_settles_or_releases_a_reservation_by_how_the_request_ended(client, mint_key):
    plaintext, key = mint_key(scopes=[], tpm=10_000, quota=100_000)
    ratelimit.register_token_estimator("/v1/_test/", lambda request: 400)
    try:
        # The view settled: 400 reserved, 50 used, 350 back.
        assert client.post("/v1/_test/charged", headers=_bearer(plaintext)).status_code == 200
        assert _daily_tokens(key) == 50
        # A failed answer (502): the reservation comes back at once.
        assert client.post("/v1/_test/broken", headers=_bearer(plaintext)).status_code == 502
        assert _daily_tokens(key) == 50
        # A stream holds its reservation until it ends...
        response = client.get("/v1/_test/stream", headers=_bearer(plaintext))
        chunks = iter(response.streaming_content)
        next(chunks)
        assert _daily_tokens(key) == 450
        # ...and gives it back when it ran to completion without reporting usage.
        list(chunks)
        assert _daily_tokens(key) == 50
        # A stream the client cut short keeps it: the work was done, never reported.
        cut = client.get("/v1/_test/stream", headers=_bearer(plaintext))
        chunks = iter(cut.streaming_content)
        next(chunks)
        cut.close()  # what the server does when the client goes away
        assert _daily_tokens(key) == 450
    finally:
        ratelimit._estimators.clear()


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
from guardian.principals import key_principal
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
def test_it_lets_exactly_the_limit_through_from_threads(mint_key, backend):
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

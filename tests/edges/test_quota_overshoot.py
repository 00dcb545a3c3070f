"""Token-per-minute and daily-quota limits are hard caps under 100 concurrent requests.

Issue 10, finding 6: with the estimate only checked (not taken) before the
work, 100 concurrent requests all passed on the same free tokens and a key
spent 2.59x its TPM bucket and 1.95x (up to 3.1x) its daily quota. Guardian
now reserves each request's estimate atomically before the work and settles
it after the answer, so what a key spends overshoots its limit by at most one
request's estimate. Driven against a live site (uvicorn in a subprocess) on
both limiter backends: the database (embedded mode) and Redis (integration).
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from matriz.facade.estimate import estimate_request_tokens
from tests.services import require_redis

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONCURRENT = 100
# The echo model answers with the question, cut to max_tokens: cheap and
# deterministic, so every request costs the same and the bound is exact.
BODY = {
    "model": "matriz-echo",
    "messages": [{"role": "user", "content": "Tell me about the quota of this key, please."}],
    "max_tokens": 8,
}


def _estimate() -> int:
    """The estimate Guardian reserves for BODY (the façade's own estimator)."""
    from django.test import RequestFactory

    request = RequestFactory().post("/v1/chat/completions", BODY, content_type="application/json")
    return estimate_request_tokens(request)


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.integration)])
def backend_env(request) -> dict[str, str]:
    """The live site's limiter store: the database, or the integration pass's Redis."""
    if request.param == "redis":
        return {"LUKHAS_GUARDIAN_REDIS_URL": require_redis()}
    return {"LUKHAS_GUARDIAN_REDIS_URL": ""}


async def _burst(base: str, plaintext: str) -> tuple[list[httpx.Response], float]:
    headers = {"Authorization": f"Bearer {plaintext}"}
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        started = time.monotonic()
        responses = await asyncio.gather(
            *(
                client.post("/v1/chat/completions", json=BODY, headers=headers)
                for _ in range(CONCURRENT)
            )
        )
        return list(responses), time.monotonic() - started


def _spent(responses: list[httpx.Response]) -> int:
    statuses = {r.status_code for r in responses}
    assert statuses <= {200, 429}, [r.text for r in responses if r.status_code not in (200, 429)]
    return sum(r.json()["usage"]["total_tokens"] for r in responses if r.status_code == 200)


def _me(base: str, plaintext: str) -> httpx.Response:
    return httpx.get(
        f"{base}/api/guardian/me", headers={"Authorization": f"Bearer {plaintext}"}, timeout=30
    )


def _warm(base: str, plaintext: str) -> None:
    """The first request of a new process loads URLs, policy and the tokenizer."""
    assert _me(base, plaintext).status_code == 200


def test_it_holds_the_tokens_per_minute_bucket_under_100_concurrent(
    live_site, mint_key, backend_env
):
    estimate = _estimate()
    tpm = 20 * estimate  # room for about 20 of the 100
    plaintext, _ = mint_key(scopes=["responses:write"], rpm=10_000, tpm=tpm, quota=10_000_000)
    site = live_site(**backend_env)
    _warm(site.base, plaintext)
    responses, elapsed = asyncio.run(_burst(site.base, plaintext))
    spent = _spent(responses)
    refilled = elapsed * tpm / 60  # the bucket refills continuously during the burst
    ratio = spent / tpm
    print(f"\nTPM: spent {spent} of a {tpm} bucket in {elapsed:.2f}s: {ratio:.2f}x")
    assert sum(r.status_code == 429 for r in responses) > 0
    assert spent <= tpm + refilled + estimate, f"spent {ratio:.2f}x the TPM bucket"
    # The settlement is exact: the limiter counted what the answers used.
    assert _me(site.base, plaintext).json()["usage_today"]["tokens"] == spent


def test_it_holds_the_daily_quota_under_100_concurrent(live_site, mint_key, backend_env):
    estimate = _estimate()
    quota = 20 * estimate
    plaintext, _ = mint_key(scopes=["responses:write"], rpm=10_000, tpm=10_000_000, quota=quota)
    site = live_site(**backend_env)
    _warm(site.base, plaintext)
    responses, _ = asyncio.run(_burst(site.base, plaintext))
    spent = _spent(responses)
    ratio = spent / quota
    print(f"\nquota: spent {spent} of a daily quota of {quota}: {ratio:.2f}x")
    refused = [r for r in responses if r.status_code == 429]
    assert refused, "the quota never bound"
    assert {r.json()["error"]["code"] for r in refused} == {"insufficient_quota"}
    assert spent <= quota + estimate, f"spent {ratio:.2f}x the daily quota"

    # The quota is spent, yet the key can still read its budget (and is not charged for it).
    me = _me(site.base, plaintext)
    assert me.status_code == 200
    assert me.json()["usage_today"]["tokens"] == spent
    assert me.json()["remaining"]["daily_tokens"] == max(quota - spent, 0)
    assert _me(site.base, plaintext).json()["usage_today"]["tokens"] == spent

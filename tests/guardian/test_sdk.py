"""The official openai SDK against the running site: it reads our 429s as OpenAI's.

The SDK's retry logic applies to any request it makes, so it is driven at
``/api/guardian`` (``client.get("/me")``); the /v1 façade is a later issue.
Each test starts one site process (a few seconds) and asks it several things.
"""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from guardian import ratelimit
from guardian.models import Denial
from guardian.principals import key_principal

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _warm(site, plaintext: str) -> None:
    """The first request of a new process loads URLs and policy: not what is measured."""
    httpx.get(f"{site.base}/api/guardian/me", headers={"Authorization": f"Bearer {plaintext}"})


def _sdk(site, plaintext: str, *, max_retries: int) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{site.base}/api/guardian", api_key=plaintext, max_retries=max_retries, timeout=10
    )


def test_it_gives_the_sdk_a_429_it_understands_and_retries_after(live_site, mint_key):
    # /policy, not /me: /me answers whatever the budget, so a key can read it.
    plaintext, key = mint_key(scopes=["ops:read"], tpm=600)  # refills 10 tokens a second
    site = live_site()
    _warm(site, plaintext)

    ratelimit.charge_tokens(key_principal(key), 630)  # 3 s of debt
    with pytest.raises(openai.RateLimitError) as refused:
        _sdk(site, plaintext, max_retries=0).get("/policy", cast_to=dict)
    error = refused.value
    assert error.status_code == 429
    assert error.code == "rate_limit_exceeded"  # /api speaks the ops shape: code, no type
    assert 0 < int(error.response.headers["retry-after-ms"]) <= 3_100
    assert error.response.headers["x-ratelimit-remaining-tokens"] == "0"
    assert "Please try again in" in error.message

    # A fresh key (a full bucket of 600) pushed 15 tokens into debt: 1.5 s to wait.
    plaintext, key = mint_key(scopes=["ops:read"], tpm=600)
    _warm(site, plaintext)
    ratelimit.charge_tokens(key_principal(key), 615)
    started = time.monotonic()
    policy = _sdk(site, plaintext, max_retries=3).get("/policy", cast_to=dict)
    elapsed = time.monotonic() - started
    assert policy["name"] == "production"
    # It waited (about) what retry-after-ms said, not its own exponential default.
    assert 0.5 <= elapsed < 6


def test_it_tells_the_sdk_not_to_retry_a_spent_quota_or_a_bad_key(live_site, mint_key):
    plaintext, key = mint_key(scopes=["ops:read"], quota=100)
    site = live_site()
    _warm(site, plaintext)
    ratelimit.charge_tokens(key_principal(key), 100)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError) as refused:
        _sdk(site, plaintext, max_retries=5).get("/policy", cast_to=dict)
    assert refused.value.code == "insufficient_quota"
    assert refused.value.response.headers["x-should-retry"] == "false"
    assert time.monotonic() - started < 3
    # One attempt reached the site: the SDK did not retry.
    assert Denial.objects.filter(kind="quota").count() == 1

    with pytest.raises(openai.AuthenticationError) as refused:
        _sdk(site, "lk-aaaaaaaaaaaa_" + "b" * 43, max_retries=2).get("/me", cast_to=dict)
    assert refused.value.code == "invalid_api_key"
    assert "lk-aaaaaaaaaaaa_bbbb" not in refused.value.message

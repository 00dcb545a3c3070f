"""The golden token kit: deterministic API keys for every app's tests.

    def test_it_lists_models(client, mint_key):
        plaintext, key = mint_key(scopes=["models:read"])
        client.get("/v1/models", headers={"Authorization": f"Bearer {plaintext}"})

    def test_it_refuses_without_scope(client, api_key_headers):
        response = client.post("/v1/embeddings", headers=api_key_headers(scopes=[]), ...)

Keys are derived from the test's node id (and a counter), so a failing test
shows the same key prefix on every run; nothing secret is committed — the
derivation runs at test time and the keys only exist in the test database.
Every test (autouse) gets its own Redis key prefix for the limiter and
idempotency records (the integration pass shares one Redis database with
other runs), and its Redis keys are deleted afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

import pytest

ALL = (
    "models:read",
    "responses:write",
    "embeddings:write",
    "indexes:read",
    "indexes:write",
    "dreams:write",
    "ops:read",
    "ops:write",
)
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def derive_plaintext(seed: str) -> str:
    """A key of the real shape (lk-<12>_<43>) derived from ``seed``."""
    digest = hashlib.sha256(f"golden-token-kit/public/{seed}".encode()).digest()
    public_id = "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:12])
    secret = hashlib.sha256(f"golden-token-kit/secret/{seed}".encode()).digest()
    return f"lk-{public_id}_{base64.urlsafe_b64encode(secret).decode().rstrip('=')}"


MintKey = Callable[..., tuple[str, object]]


@pytest.fixture(autouse=True)
def guardian_redis_prefix(settings) -> str:
    """A Redis key prefix of each test's own; its keys are deleted afterwards.

    Autouse: the integration pass shares one Redis database with other runs
    (and other engineers' runs), and key/tenant ids repeat between them, so
    limiter buckets and idempotency records must never be shared.
    """
    prefix = f"lukhas-test:{uuid.uuid4().hex[:12]}:guardian"
    settings.GUARDIAN_REDIS_PREFIX = prefix
    urls = {settings.GUARDIAN_REDIS_URL}
    yield prefix
    # Child processes and live sites of the test wrote under the same prefix.
    urls.add(settings.GUARDIAN_REDIS_URL)
    import redis

    for url in filter(None, urls):
        try:
            client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
            for found in client.scan_iter(match=f"{prefix}:*", count=500):
                client.delete(found)
            client.close()
        except redis.exceptions.RedisError:  # a Redis the test stopped: its keys went with it
            pass


@pytest.fixture
def mint_key(request, db, guardian_redis_prefix) -> MintKey:
    """``mint_key(scopes=..., tenant=..., rpm=..., tpm=..., quota=...) -> (plaintext, APIKey)``."""
    from guardian import selectors, services
    from guardian.models import Tenant

    counter = iter(range(1_000_000))
    selectors.forget_all_keys()

    def mint(
        scopes: Iterable[str] = ALL,
        *,
        tenant: str | Tenant = "kit",
        rpm: int = 1000,
        tpm: int = 1_000_000,
        quota: int = 100_000_000,
        name: str | None = None,
        expires_at: datetime | None = None,
        tenant_rpm: int | None = None,
        tenant_tpm: int | None = None,
        tenant_quota: int | None = None,
    ) -> tuple[str, object]:
        n = next(counter)
        if not isinstance(tenant, Tenant):
            tenant = services.tenant_ensure(slug=tenant)
        if (tenant_rpm, tenant_tpm, tenant_quota) != (None, None, None):
            tenant.requests_per_minute = tenant_rpm
            tenant.tokens_per_minute = tenant_tpm
            tenant.daily_token_quota = tenant_quota
            services.tenant_save(tenant=tenant)
        return services.api_key_create(
            name=name or f"kit-{n}",
            scopes=scopes,
            tenant=tenant,
            requests_per_minute=rpm,
            tokens_per_minute=tpm,
            daily_token_quota=quota,
            expires_at=expires_at,
            plaintext=derive_plaintext(f"{request.node.nodeid}#{n}"),
        )

    return mint


@pytest.fixture
def api_key_headers(mint_key) -> Callable[..., dict[str, str]]:
    """``api_key_headers(scopes=[...], **mint_key_options)`` → ``{"Authorization": "Bearer …"}``."""

    def headers(scopes: Iterable[str] = ALL, **options: object) -> dict[str, str]:
        plaintext, _ = mint_key(scopes, **options)
        return {"Authorization": f"Bearer {plaintext}"}

    return headers

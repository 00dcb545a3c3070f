"""Guardian's reads: the key a bearer token names (cached briefly), a key's budget, its denials."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from guardian import keys, pdp, ratelimit
from guardian.models import APIKey, Denial
from guardian.principals import key_principal


def api_key_by_public_id(public_id: str) -> APIKey | None:
    """The key a bearer token names (one indexed lookup, tenant joined)."""
    return APIKey.objects.select_related("tenant").filter(public_id=public_id).first()


# --- key lookup with a short per-process cache ---------------------------------
#
# A request must not cost a database round trip just to learn that its key is
# the same as a second ago. Entries live GUARDIAN_KEY_CACHE_SECONDS; revoking
# a key drops it here at once (this process) and elsewhere within that time.
# Database errors are not caught here: the site's outer middleware maps a
# pool timeout to a 503, so they must reach it.

_cache_lock = threading.Lock()
_key_cache: dict[str, tuple[float, APIKey]] = {}
_KEY_CACHE_MAX = 10_000
# Intervals, not dates: a monotonic clock (tests replace it to move time on).
clock = time.monotonic


def api_key_for_token(parsed: keys.ParsedKey) -> APIKey | None:
    """The key whose secret ``parsed`` carries (None: no such key or a wrong secret)."""
    digest = keys.hash_key(parsed.plaintext)
    ttl = settings.GUARDIAN_KEY_CACHE_SECONDS
    now = clock()
    if ttl > 0:
        hit = _key_cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
    api_key = api_key_by_public_id(parsed.public_id)
    if api_key is None or not keys.hashes_match(api_key.key_hash, digest):
        return None
    if ttl > 0:
        with _cache_lock:
            if len(_key_cache) >= _KEY_CACHE_MAX:
                _key_cache.clear()
            _key_cache[digest] = (now + ttl, api_key)
    return api_key


def forget_key(api_key: APIKey) -> None:
    """Drop one key from this process's cache (after an edit or a revocation)."""
    with _cache_lock:
        _key_cache.pop(api_key.key_hash, None)


def forget_all_keys() -> None:
    """Drop every cached key (a tenant changed: all its keys' rows are stale)."""
    with _cache_lock:
        _key_cache.clear()


def denials_of_key(api_key: APIKey, *, limit: int = 20) -> QuerySet[Denial]:
    return Denial.objects.filter(api_key=api_key).order_by("-created_at")[:limit]


def key_budget(api_key: APIKey) -> dict[str, Any]:
    """Limits, what is left of them now, and today's usage (for /me and the admin).

    Reads the limiter without taking anything from it.
    """
    principal = key_principal(api_key)
    limits = ratelimit.effective_limits(principal)
    outcome = ratelimit.peek(principal)
    levels = outcome.levels if outcome else {}
    counters = outcome.counters if outcome else {}

    def level(name: str) -> dict[str, Any] | None:
        found = levels.get(name)
        if found is None:
            return None
        return {
            "limit": found.limit,
            "remaining": found.remaining,
            "reset": ratelimit.format_reset(found.reset_ms),
        }

    used_tokens = counters.get("key_daily_tokens", (0, 0))[1]
    policy = pdp.current()
    tenant = api_key.tenant
    tenant_used = counters.get("tenant_daily_tokens", (0, 0))[1]
    return {
        "limits": {
            "requests_per_minute": limits.requests_per_minute,
            "tokens_per_minute": limits.tokens_per_minute,
            "daily_token_quota": limits.daily_token_quota,
        },
        "remaining": {
            "requests": level("key_requests"),
            "tokens": level("key_tokens"),
            "daily_tokens": max(limits.daily_token_quota - used_tokens, 0),
        },
        "usage_today": {
            "requests": counters.get("key_daily_requests", (0, 0))[1],
            "tokens": used_tokens,
        },
        "tenant": {
            "slug": tenant.slug,
            "name": tenant.name,
            "requests_per_minute": limits.tenant_requests_per_minute,
            "tokens_per_minute": limits.tenant_tokens_per_minute,
            "daily_token_quota": limits.tenant_daily_token_quota,
            "remaining_requests": level("tenant_requests"),
            "remaining_tokens": level("tenant_tokens"),
            "tokens_today": tenant_used,
        },
        "policy": {"name": policy.name, "mode": policy.mode} if policy else None,
        "degraded": bool(outcome and outcome.degraded),
    }


def key_summary(api_key: APIKey) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "prefix": api_key.prefix,
        "name": api_key.name,
        "tenant": api_key.tenant.slug,
        "scopes": sorted(api_key.scopes or []),
        "created_at": iso(api_key.created_at),
        "expires_at": iso(api_key.expires_at),
        "last_used_at": iso(api_key.last_used_at),
    }

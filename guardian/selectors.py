"""Guardian's reads: keys by public id, a key's budget, its denials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from guardian.models import APIKey, Denial


def api_key_by_public_id(public_id: str) -> APIKey | None:
    """The key a bearer token names (one indexed lookup, tenant joined)."""
    return APIKey.objects.select_related("tenant").filter(public_id=public_id).first()


def denials_of_key(api_key: APIKey, *, limit: int = 20) -> QuerySet[Denial]:
    return Denial.objects.filter(api_key=api_key).order_by("-created_at")[:limit]


def key_budget(api_key: APIKey) -> dict[str, Any]:
    """Limits, what is left of them now, and today's usage (for /me and the admin).

    Reads the limiter without taking anything from it.
    """
    from guardian import pdp, ratelimit
    from guardian.auth import key_principal

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

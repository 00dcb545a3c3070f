"""Rate limits and quotas: token buckets per key and tenant, daily token quotas.

Each key has a requests bucket and a tokens bucket (capacity = its
per-minute limit, refilled continuously), and so does its tenant when the
tenant has shared limits; daily quotas are counters per UTC day.

A request takes one request token from every request bucket and RESERVES
the façade's token estimate from every token bucket and daily quota (all or
nothing: refused unless each holds it). After the answer, the façade's
:func:`charge_tokens` settles: it refunds what the answer did not use or
charges the remainder (which may push a bucket into debt that the next
requests wait out); a refused or failed request releases its reservation.
So concurrent requests cannot all pass on the same free tokens: the spend
overshoots a limit by at most what one request used beyond its estimate.

All buckets and counters of a request are checked and changed together,
all or nothing: with Redis in ONE round trip (a Lua script run by EVALSHA),
without Redis in one database transaction (row locks; on SQLite the write
transaction serialises processes sharing the file). Redis keys of a tenant
share one hash tag ``{t<id>}`` so a Redis Cluster keeps them in one slot.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from guardian import metrics, pdp, redis_client
from guardian.models import RateBucket
from guardian.redis_client import REDIS_DOWN_ERRORS, BackendUnavailable
from lukhas_site.errors import QuotaExhausted, RateLimited, ServiceUnavailable

logger = logging.getLogger(__name__)

WINDOW_MS = 60_000  # every bucket refills over one minute
DAY_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """A token bucket: ``capacity`` per minute; the request needs ``need`` and takes ``cost``.

    A negative ``need`` is not checked; a negative ``cost`` gives tokens back.
    """

    name: str
    key: str
    capacity: int
    need: float
    cost: float


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """A daily counter: refuses when ``used + need > limit`` (limit 0 or need < 0: only counts)."""

    name: str
    key: str
    limit: int
    need: int
    cost: int


@dataclass(slots=True)
class Level:
    limit: int
    remaining: int
    reset_ms: int


@dataclass(slots=True)
class Outcome:
    allowed: bool
    denied: str | None = None
    retry_after_ms: int = 0
    levels: dict[str, Level] = field(default_factory=dict)
    # Daily counters: name → (limit (0: none), used so far today).
    counters: dict[str, tuple[int, int]] = field(default_factory=dict)
    # True when the store was unreachable and the fail-open mode let it pass.
    degraded: bool = False
    round_trips: int = 0

    @property
    def quota_exhausted(self) -> bool:
        return self.denied is not None and self.denied.endswith("daily_tokens")


# --- the Redis backend ----------------------------------------------------------

# KEYS: the nb bucket keys, then the nc counter keys.
# ARGV: nb, nc, force ("1": apply costs whatever the levels), counter ttl (s),
#       then capacity, need, cost per bucket, then limit, need, cost per counter.
# Returns: allowed, index of the refusing bucket/counter (1-based, 0: none),
#          wait ms, then per bucket floor(tokens * 1000), per counter used.
# Time comes from Redis (TIME), so web machines with skewed clocks agree.
LUA_APPLY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nb = tonumber(ARGV[1])
local nc = tonumber(ARGV[2])
local force = ARGV[3] == '1'
local counter_ttl = tonumber(ARGV[4])
local tokens = {}
local used = {}
local denied = 0
local wait = 0
for i = 1, nb do
  local base = 4 + (i - 1) * 3
  local cap = tonumber(ARGV[base + 1])
  local need = tonumber(ARGV[base + 2])
  local state = redis.call('HMGET', KEYS[i], 't', 'ts')
  local level = cap
  if state[1] then
    level = math.min(cap, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * cap / 60000)
  end
  tokens[i] = level
  if denied == 0 and not force and need >= 0 and level < need then
    denied = i
    wait = math.ceil((need - level) * 60000 / cap)
  end
end
for j = 1, nc do
  local base = 4 + nb * 3 + (j - 1) * 3
  local limit = tonumber(ARGV[base + 1])
  local need = tonumber(ARGV[base + 2])
  local value = tonumber(redis.call('GET', KEYS[nb + j]) or '0')
  used[j] = value
  if denied == 0 and not force and limit > 0 and need >= 0 and value + need > limit then
    denied = nb + j
  end
end
local out = {denied == 0 and 1 or 0, denied, wait}
for i = 1, nb do
  local base = 4 + (i - 1) * 3
  local cap = tonumber(ARGV[base + 1])
  local cost = tonumber(ARGV[base + 3])
  if denied == 0 and cost ~= 0 then
    -- A refund never fills a bucket past its capacity.
    tokens[i] = math.min(cap, tokens[i] - cost)
    redis.call('HSET', KEYS[i], 't', tostring(tokens[i]), 'ts', now)
    -- Once full again the bucket is the same as no bucket: let it expire then.
    redis.call('PEXPIRE', KEYS[i], math.ceil((cap - tokens[i]) * 60000 / cap) + 1000)
  end
  out[#out + 1] = math.floor(tokens[i] * 1000)
end
for j = 1, nc do
  local base = 4 + nb * 3 + (j - 1) * 3
  local cost = tonumber(ARGV[base + 3])
  if denied == 0 and cost ~= 0 then
    used[j] = redis.call('INCRBY', KEYS[nb + j], cost)
    if used[j] < 0 then
      redis.call('SET', KEYS[nb + j], 0)
      used[j] = 0
    end
    redis.call('EXPIRE', KEYS[nb + j], counter_ttl)
  end
  out[#out + 1] = used[j]
end
return out
"""

_script: Any = None


def _run_script(keys: list[str], args: list[Any]) -> Any:
    """EVALSHA (EVAL once after a Redis restart) on the current client."""
    global _script
    client = redis_client.client()
    if _script is None:
        _script = client.register_script(LUA_APPLY)
    # The client is passed on each call: settings (tests) may switch servers.
    return _script(keys=keys, args=args, client=client)


def _apply_redis(buckets: list[BucketSpec], counters: list[CounterSpec], force: bool) -> Outcome:
    redis_client.ensure_up()
    args: list[Any] = [len(buckets), len(counters), "1" if force else "0", 2 * DAY_SECONDS]
    for b in buckets:
        args += [b.capacity, repr(float(b.need)), repr(float(b.cost))]
    for c in counters:
        args += [c.limit, c.need, c.cost]
    try:
        reply = _run_script([b.key for b in buckets] + [c.key for c in counters], args)
    except REDIS_DOWN_ERRORS as exc:
        redis_client.mark_down(exc, "rate limit")
        raise BackendUnavailable(str(exc)) from exc
    redis_client.mark_up()
    levels = [int(v) / 1000 for v in reply[3 : 3 + len(buckets)]]
    used = [int(v) for v in reply[3 + len(buckets) :]]
    return _outcome(
        buckets, counters, int(reply[0]) == 1, int(reply[1]), int(reply[2]), levels, used
    )


# --- the database backend (embedded mode) ---------------------------------------


def _apply_database(buckets: list[BucketSpec], counters: list[CounterSpec], force: bool) -> Outcome:
    """The same algorithm as the Lua script, in one database transaction.

    Raw SQL on purpose: this runs on every request in embedded mode, and the
    ORM's bulk_update (CASE WHEN per row) costs several times the statements
    themselves. Three statements inside the transaction: insert missing rows,
    lock and read them all, (compute,) write the changed ones back.
    """
    table = connection.ops.quote_name(RateBucket._meta.db_table)
    key_col = connection.ops.quote_name("key")
    adapt = connection.ops.adapt_datetimefield_value
    now_ms = int(time.time() * 1000)
    now = timezone.now()
    # A bucket row is created expired: an expired row reads as a full bucket.
    counter_expiry = adapt(now + timedelta(seconds=2 * DAY_SECONDS))
    new_rows: list[Any] = []
    for b in buckets:
        new_rows += [b.key, float(b.capacity), now_ms, adapt(now)]
    for c in counters:
        new_rows += [c.key, 0.0, now_ms, counter_expiry]
    keys = [b.key for b in buckets] + [c.key for c in counters]
    marks = ", ".join(["%s"] * len(keys))
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # Identifiers come from the model's metadata; every value is a parameter.
    rows_sql = ", ".join(["(%s, %s, %s, %s)"] * len(keys))
    insert_sql = (
        f"INSERT INTO {table} ({key_col}, tokens, updated_ms, expires_at) "  # noqa: S608
        f"VALUES {rows_sql} ON CONFLICT ({key_col}) DO NOTHING"
    )
    select_sql = (
        f"SELECT {key_col}, tokens, updated_ms, expires_at > %s FROM {table} "  # noqa: S608
        f"WHERE {key_col} IN ({marks}) ORDER BY {key_col}{lock}"
    )
    update_sql = (
        f"UPDATE {table} SET tokens = %s, updated_ms = %s, expires_at = %s "  # noqa: S608
        f"WHERE {key_col} = %s"
    )
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Missing rows first (ignoring a racing insert), so one locked
            # SELECT sees them all; SQLite's write transaction (IMMEDIATE)
            # and PostgreSQL's row locks serialise processes from here on.
            cursor.execute(insert_sql, new_rows)
            cursor.execute(select_sql, [adapt(now), *keys])
            rows = {
                key: (tokens, updated, live) for key, tokens, updated, live in cursor.fetchall()
            }
            denied, wait = 0, 0
            levels: list[float] = []
            for i, b in enumerate(buckets, start=1):
                tokens, updated, live = rows[b.key]
                level = float(b.capacity)
                if live:
                    elapsed = max(0, now_ms - updated)
                    level = min(b.capacity, tokens + elapsed * b.capacity / WINDOW_MS)
                levels.append(level)
                if not denied and not force and b.need >= 0 and level < b.need:
                    denied, wait = i, math.ceil((b.need - level) * WINDOW_MS / b.capacity)
            used: list[int] = []
            for j, c in enumerate(counters, start=1):
                value = int(rows[c.key][0])
                used.append(value)
                if (
                    not denied
                    and not force
                    and c.limit > 0
                    and c.need >= 0
                    and value + c.need > c.limit
                ):
                    denied = len(buckets) + j
            if not denied:
                changed: list[tuple[Any, ...]] = []
                for i, b in enumerate(buckets):
                    if b.cost:
                        levels[i] = min(float(b.capacity), levels[i] - b.cost)
                        refill_ms = math.ceil((b.capacity - levels[i]) * WINDOW_MS / b.capacity)
                        expires = adapt(now + timedelta(milliseconds=refill_ms + 1000))
                        changed.append((levels[i], now_ms, expires, b.key))
                for j, c in enumerate(counters):
                    if c.cost:
                        used[j] = max(0, used[j] + c.cost)
                        changed.append((float(used[j]), now_ms, counter_expiry, c.key))
                if changed:
                    cursor.executemany(update_sql, changed)
    except DatabaseError as exc:
        logger.warning("guardian: limiter database error: %s", exc)
        raise BackendUnavailable(str(exc)) from exc
    return _outcome(buckets, counters, not denied, denied, wait, levels, used)


def _outcome(
    buckets: list[BucketSpec],
    counters: list[CounterSpec],
    allowed: bool,
    denied_index: int,
    wait_ms: int,
    levels: list[float],
    used: list[int],
) -> Outcome:
    outcome = Outcome(allowed=allowed, round_trips=1)
    if denied_index:
        if denied_index <= len(buckets):
            outcome.denied = buckets[denied_index - 1].name
            outcome.retry_after_ms = max(1, wait_ms)
        else:
            outcome.denied = counters[denied_index - len(buckets) - 1].name
            outcome.retry_after_ms = _ms_until_utc_midnight()
    for b, level in zip(buckets, levels, strict=True):
        reset = (
            0 if level >= b.capacity else math.ceil((b.capacity - level) * WINDOW_MS / b.capacity)
        )
        outcome.levels[b.name] = Level(b.capacity, max(0, math.floor(level)), reset)
    for c, value in zip(counters, used, strict=True):
        outcome.counters[c.name] = (c.limit, value)
    return outcome


def _ms_until_utc_midnight() -> int:
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return math.ceil((tomorrow - now).total_seconds() * 1000)


# --- what a principal's request touches --------------------------------------------


@dataclass(frozen=True, slots=True)
class EffectiveLimits:
    requests_per_minute: int
    tokens_per_minute: int
    daily_token_quota: int
    tenant_requests_per_minute: int | None
    tenant_tokens_per_minute: int | None
    tenant_daily_token_quota: int | None


def effective_limits(principal: Any) -> EffectiveLimits:
    """The key's limits under the policy's ceilings (sandbox tenants get lower ones)."""
    key, tenant = principal.api_key, principal.tenant
    policy = pdp.current()
    ceilings = policy.limits_for(tenant.slug if tenant else None) if policy else pdp.Limits()
    return EffectiveLimits(
        requests_per_minute=ceilings.cap("requests_per_minute", key.requests_per_minute),
        tokens_per_minute=ceilings.cap("tokens_per_minute", key.tokens_per_minute),
        daily_token_quota=ceilings.cap("daily_token_quota", key.daily_token_quota),
        tenant_requests_per_minute=tenant.requests_per_minute if tenant else None,
        tenant_tokens_per_minute=tenant.tokens_per_minute if tenant else None,
        tenant_daily_token_quota=tenant.daily_token_quota if tenant else None,
    )


def _today() -> str:
    return datetime.now(UTC).strftime("%Y%m%d")


def _storage_key(tag: str, *parts: str) -> str:
    if redis_client.enabled():
        return redis_client.key("{" + tag + "}", *parts)
    return ":".join((tag, *parts))


def plan(
    principal: Any, *, requests: int, need_tokens: int, tokens: int, day: str | None = None
) -> tuple[list[BucketSpec], list[CounterSpec]]:
    """The buckets and counters one call touches, with what it needs and costs.

    ``need_tokens`` < 0: the token buckets and quotas are not checked.
    ``day`` (YYYYMMDD, UTC): the daily counters of that day (default today),
    so a settlement lands on the day its reservation was taken from.
    """
    limits = effective_limits(principal)
    tag = f"t{principal.tenant.pk}"
    k = f"k{principal.api_key.pk}"
    day = day or _today()
    need_requests = 1 if requests else 0

    def bucket(name: str, who: str, unit: str, capacity: int) -> BucketSpec:
        is_requests = unit == "req"
        return BucketSpec(
            name,
            _storage_key(tag, "rl", who, unit),
            capacity,
            need_requests if is_requests else need_tokens,
            requests if is_requests else tokens,
        )

    def counter(name: str, who: str, unit: str, limit: int) -> CounterSpec:
        is_requests = unit == "req"
        return CounterSpec(
            name,
            _storage_key(tag, "q", who, day, unit),
            limit,
            0 if is_requests else need_tokens,
            requests if is_requests else tokens,
        )

    buckets = [
        bucket("key_requests", k, "req", limits.requests_per_minute),
        bucket("key_tokens", k, "tok", limits.tokens_per_minute),
    ]
    if limits.tenant_requests_per_minute:
        buckets.append(
            bucket("tenant_requests", "tenant", "req", limits.tenant_requests_per_minute)
        )
    if limits.tenant_tokens_per_minute:
        buckets.append(bucket("tenant_tokens", "tenant", "tok", limits.tenant_tokens_per_minute))
    counters = [
        counter("key_daily_tokens", k, "tok", limits.daily_token_quota),
        # Limit 0: counted for /me and the admin, never refused.
        counter("key_daily_requests", k, "req", 0),
        counter("tenant_daily_tokens", "tenant", "tok", limits.tenant_daily_token_quota or 0),
    ]
    return buckets, counters


def _apply(buckets: list[BucketSpec], counters: list[CounterSpec], *, force: bool) -> Outcome:
    if redis_client.enabled():
        return _apply_redis(buckets, counters, force)
    return _apply_database(buckets, counters, force)


def _degraded(operation: str) -> Outcome:
    closed = settings.GUARDIAN_FAIL_MODE == "closed"
    metrics.backend_errors_total.labels(operation, "closed" if closed else "open").inc()
    if closed:
        raise ServiceUnavailable(
            "Rate limiting is unavailable, so requests are refused for now (fail-closed). "
            "Retry shortly.",
            headers={"Retry-After": "1"},
        )
    return Outcome(allowed=True, degraded=True)


# --- the estimate hook ------------------------------------------------------------

TokenEstimator = Callable[[HttpRequest], int]
_estimators: list[tuple[str, TokenEstimator]] = []


def register_token_estimator(path_prefix: str, estimator: TokenEstimator) -> None:
    """Let the façade say how many tokens a request will need before it runs.

    The estimate is checked against the token buckets and the daily quota
    (not taken: :func:`charge_tokens` takes what the answer really used).
    """
    _estimators[:] = [(p, e) for p, e in _estimators if p != path_prefix]
    _estimators.append((path_prefix, estimator))
    _estimators.sort(key=lambda item: -len(item[0]))


def estimate_tokens(request: HttpRequest) -> int:
    for prefix, estimator in _estimators:
        if request.path.startswith(prefix):
            try:
                return max(0, int(estimator(request)))
            except Exception:
                logger.warning("token estimator for %s failed", prefix, exc_info=True)
                return 0
    return 0


# --- the public operations ------------------------------------------------------------


@dataclass(slots=True)
class Reservation:
    """Tokens a request took up front; settled once (charge_tokens) or released."""

    tokens: int
    day: str
    settled: bool = False


def check_request(principal: Any, *, estimate: int = 0, metered: bool = True) -> Outcome | None:
    """Take one request and reserve ``estimate`` tokens (all or nothing). None: not limited.

    The reservation is left on ``principal.reservation`` for :func:`charge_tokens`
    (or :func:`release`). ``metered=False`` takes the request but neither
    needs nor reserves tokens, so a spent quota or a bucket in debt does not
    refuse it (GET /api/guardian/me: a key can always read its budget).
    """
    if principal is None or principal.api_key is None:
        return None
    estimate = max(0, int(estimate)) if metered else 0
    day = _today()
    need = max(1, estimate) if metered else -1
    buckets, counters = plan(principal, requests=1, need_tokens=need, tokens=estimate, day=day)
    principal.reservation = None
    try:
        outcome = _apply(buckets, counters, force=False)
    except BackendUnavailable:
        outcome = _degraded("rate_limit")
        outcome.levels = _nominal_levels(buckets)
        return outcome
    if not outcome.allowed:
        metrics.throttled_total.labels(outcome.denied).inc()
    elif estimate:
        principal.reservation = Reservation(tokens=estimate, day=day)
    return outcome


def _settle(principal: Any, n: int) -> Outcome | None:
    """Move the principal's buckets by ``n`` tokens (negative: a refund), never refusing."""
    reservation = principal.reservation
    day = None
    if reservation is not None and not reservation.settled:
        reservation.settled = True
        n -= reservation.tokens
        day = reservation.day
    if n == 0:
        return None
    buckets, counters = plan(principal, requests=0, need_tokens=0, tokens=int(n), day=day)
    try:
        return _apply(buckets, counters, force=True)
    except BackendUnavailable:
        metrics.backend_errors_total.labels("charge_tokens", "open").inc()
        return None


def charge_tokens(principal: Any, n: int) -> Outcome | None:
    """Settle what the answer used: ``n`` tokens (the façade calls this after responding).

    With a reservation (the middleware's), one round trip refunds what the
    estimate held beyond ``n`` or charges the remainder; without one it
    charges ``n``. Never refuses (the work is done) and never raises: the
    buckets may go into debt, which the next requests wait out.
    """
    if principal is None or principal.api_key is None or n < 0:
        return None
    if n == 0 and principal.reservation is None:
        return None
    return _settle(principal, int(n))


async def acharge_tokens(principal: Any, n: int) -> Outcome | None:
    """``charge_tokens`` for async views (the store is blocking I/O: run it in a thread)."""
    return await sync_to_async(charge_tokens)(principal, n)


def release(principal: Any) -> None:
    """Give back an unsettled reservation (the request was refused, failed or used nothing)."""
    if principal is None or principal.api_key is None:
        return
    reservation = principal.reservation
    if reservation is not None and not reservation.settled:
        _settle(principal, 0)


def peek(principal: Any) -> Outcome | None:
    """The principal's levels now, changing nothing (for /me and the admin)."""
    if principal is None or principal.api_key is None:
        return None
    buckets, counters = plan(principal, requests=0, need_tokens=0, tokens=0)
    try:
        return _apply(buckets, counters, force=True)
    except BackendUnavailable:
        outcome = Outcome(allowed=True, degraded=True)
        outcome.levels = _nominal_levels(buckets)
        return outcome


def _nominal_levels(buckets: list[BucketSpec]) -> dict[str, Level]:
    """What the headers say while the store is away: the limits, nothing counted."""
    return {b.name: Level(b.capacity, b.capacity, 0) for b in buckets}


# --- headers -------------------------------------------------------------------------


def format_reset(ms: int) -> str:
    """A duration as OpenAI writes it (Go's time.Duration): ``12ms``, ``1s``, ``1.5s``, ``6m0s``."""
    if ms <= 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def _binding(outcome: Outcome, *names: str) -> Level | None:
    """Of a key's and its tenant's buckets, the one closest to refusing."""
    found = [outcome.levels[n] for n in names if n in outcome.levels]
    if not found:
        return None
    return min(found, key=lambda level: (level.remaining, -level.reset_ms))


def headers_for(outcome: Outcome) -> dict[str, str]:
    """OpenAI's x-ratelimit-* headers and the IETF draft's RateLimit/RateLimit-Policy."""
    headers: dict[str, str] = {}
    policies, current = [], []
    for unit, names in (
        ("requests", ("key_requests", "tenant_requests")),
        ("tokens", ("key_tokens", "tenant_tokens")),
    ):
        level = _binding(outcome, *names)
        if level is None:
            continue
        headers[f"x-ratelimit-limit-{unit}"] = str(level.limit)
        headers[f"x-ratelimit-remaining-{unit}"] = str(level.remaining)
        headers[f"x-ratelimit-reset-{unit}"] = format_reset(level.reset_ms)
        policies.append(f'"{unit}";q={level.limit};w=60')
        current.append(f'"{unit}";r={level.remaining};t={math.ceil(level.reset_ms / 1000)}')
    limit, used = outcome.counters.get("key_daily_tokens", (0, 0))
    if limit > 0:
        until_midnight = math.ceil(_ms_until_utc_midnight() / 1000)
        policies.append(f'"daily-tokens";q={limit};w={DAY_SECONDS}')
        current.append(f'"daily-tokens";r={max(limit - used, 0)};t={until_midnight}')
    if policies:
        headers["RateLimit-Policy"] = ", ".join(policies)
        headers["RateLimit"] = ", ".join(current)
    return headers


RETRY_CAP_MS = 60_000  # the OpenAI SDK honours a server's delay only up to 60 s


def refused(outcome: Outcome) -> RateLimited:
    """The 429 of a refused outcome, with every header: raise it."""
    headers = headers_for(outcome)
    if outcome.quota_exhausted:
        scope = "tenant" if outcome.denied.startswith("tenant") else "API key"
        limit, _ = outcome.counters.get(outcome.denied, (0, 0))
        # Waiting will not help before midnight UTC: the SDK must not retry.
        headers["x-should-retry"] = "false"
        return QuotaExhausted(
            f"You exceeded the daily token quota of this {scope} ({limit} tokens a day, "
            "UTC). It resets at midnight UTC; ask a maintainer for a higher quota.",
            headers=headers,
        )
    wait_ms = min(outcome.retry_after_ms, RETRY_CAP_MS)
    headers["retry-after-ms"] = str(wait_ms)
    headers["Retry-After"] = str(max(1, math.ceil(wait_ms / 1000)))
    unit = "tokens" if outcome.denied.endswith("tokens") else "requests"
    scope = "tenant" if outcome.denied.startswith("tenant") else "API key"
    level = outcome.levels.get(outcome.denied)
    limit = level.limit if level else 0
    return RateLimited(
        f"Rate limit reached for {unit} per minute on this {scope}: limit {limit}, "
        f"remaining {level.remaining if level else 0}. "
        f"Please try again in {format_reset(outcome.retry_after_ms)}.",
        openai_type=unit,
        headers=headers,
    )

"""What Guardian costs: PDP decisions, limiter round trips, the whole stack per request.

``run()`` returns rows ``name, value, unit, baseline_name, baseline_value,
ratio, budget, ok``:

(a) PDP decision p95 (in process, with its metrics) ≤ 0.2 ms — a GA gate —
    against a bare dict lookup of the same action;
(b) limiter store round trips per request: with ``REDIS_URL`` the Redis
    commands one request's limit check sends (budget: exactly 1, EVALSHA);
    embedded, the database statements of its one transaction (informational);
(c) the whole Guardian stack (bearer key, rate limit + headers, PDP scope
    check) on one operation against the same operation without Guardian,
    through Django's test client in the same run: the ratio (≤ 3) and the
    added microseconds per request (≤ 1.5 ms). Most of it is the limiter's
    one round trip (with Redis: the loopback RTT plus the OpenTelemetry span
    the site's Redis instrumentation records for every call).

Runs standalone: ``python benchmarks/bench_guardian.py`` (a temporary SQLite
database under a temporary ``LUKHAS_VAR_DIR``; Redis if ``REDIS_URL`` is set).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.rows import p95, row


def _setup() -> None:
    os.environ.setdefault("LUKHAS_VAR_DIR", tempfile.mkdtemp(prefix="lukhas-bench-guardian-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lukhas_site.settings")
    os.environ["LUKHAS_LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
    # Each run its own Redis keys, so a shared Redis is neither read nor polluted.
    os.environ["LUKHAS_GUARDIAN_REDIS_PREFIX"] = f"lukhas-bench:{uuid.uuid4().hex[:10]}:guardian"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- a bench-only URL map: one operation with and without Guardian ----------------

_urlpatterns: list = []


def _bench_urls() -> str:
    """Two copies of the same operation: /api/… behind Guardian, /bare/… without it."""
    import types

    from django.urls import path
    from ninja import NinjaAPI

    from guardian.auth import ops_auth
    from guardian.permissions import require_scope

    guarded = NinjaAPI(urls_namespace="bench-guarded", auth=ops_auth)
    bare = NinjaAPI(urls_namespace="bench-bare")

    @guarded.get("/models", url_name="models")
    def guarded_models(request: Any) -> dict:
        require_scope(request, "models:read")
        return {"object": "list", "data": [{"id": "lukhas-matriz", "object": "model"}]}

    @bare.get("/models", url_name="models")
    def bare_models(request: Any) -> dict:
        return {"object": "list", "data": [{"id": "lukhas-matriz", "object": "model"}]}

    module = types.ModuleType("bench_guardian_urls")
    module.urlpatterns = [path("api/bench/", guarded.urls), path("bare/bench/", bare.urls)]
    sys.modules[module.__name__] = module
    return module.__name__


def _median_us(client: Any, path: str, headers: dict[str, str], n: int) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.content[:300]}")
    return statistics.median(samples) * 1e6


def run() -> list[dict]:
    _setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from guardian import pdp, ratelimit, redis_client, services
    from guardian.auth import key_principal

    rows = []
    redis_mode = bool(settings.GUARDIAN_REDIS_URL)
    plaintext, key = services.api_key_create(
        name=f"bench-{uuid.uuid4().hex[:6]}",
        scopes=["models:read", "responses:write"],
        requests_per_minute=10_000_000,
        tokens_per_minute=10_000_000,
        daily_token_quota=1_000_000_000,
    )
    principal = key_principal(key)

    # (a) PDP decision p95 vs a bare dict lookup.
    pdp.current()
    n = 20_000
    actions = ["models:read", "indexes:write", "responses:write", "ops:read"]
    decisions = []
    for i in range(n):
        action = actions[i % 4]
        started = time.perf_counter()
        pdp.decide(principal, action)
        decisions.append(time.perf_counter() - started)
    table = {a: True for a in principal.scopes}
    lookups = []
    for i in range(n):
        action = actions[i % 4]
        started = time.perf_counter()
        table.get(action, False)
        lookups.append(time.perf_counter() - started)
    decision_p95 = p95(decisions) * 1e6
    rows.append(
        row(
            "PDP decision p95 (in process, with metrics)",
            decision_p95,
            "µs",
            "bare dict lookup p95",
            p95(lookups) * 1e6,
            "≤ 200 µs (0.2 ms, GA gate)",
            decision_p95 <= 200,
        )
    )

    # (b) limiter round trips per request.
    ratelimit.check_request(principal)  # warm: the script is loaded, rows exist
    if redis_mode:
        client = redis_client.client()
        calls: list[str] = []
        original = client.execute_command

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(str(args[0]))
            return original(*args, **kwargs)

        client.execute_command = counting
        try:
            trips = []
            for _ in range(100):
                calls.clear()
                ratelimit.check_request(principal)
                trips.append(len(calls))
        finally:
            del client.execute_command
        value = max(trips)
        rows.append(
            row(
                "Redis round trips per request for rate limits (max of 100)",
                value,
                "round trips",
                "",
                None,
                "= 1 (one EVALSHA)",
                value == 1,
            )
        )
    else:
        with CaptureQueriesContext(connection) as queries:
            ratelimit.check_request(principal)
        rows.append(
            row(
                "embedded limiter: database statements per request (one transaction)",
                len(queries.captured_queries),
                "statements",
                "",
                None,
                "informational (Redis mode: 1 round trip)",
                True,
            )
        )

    # (c) the whole stack against the same operation without it.
    with override_settings(ROOT_URLCONF=_bench_urls(), GUARDIAN_KEY_CACHE_SECONDS=60):
        browser = Client()
        auth = {"Authorization": f"Bearer {plaintext}"}
        _median_us(browser, "/api/bench/models", auth, 200)  # warm up
        _median_us(browser, "/bare/bench/models", {}, 200)
        rounds = 3
        guarded, bare = [], []
        for _ in range(rounds):  # interleaved, so drift hits both alike
            guarded.append(_median_us(browser, "/api/bench/models", auth, 1000))
            bare.append(_median_us(browser, "/bare/bench/models", {}, 1000))
        with_guardian, without = min(guarded), min(bare)
    mode = "Redis" if redis_mode else "embedded SQLite"
    ratio = with_guardian / without
    # The stack is one limiter round trip (Redis: a loopback RTT plus the
    # OpenTelemetry span the site puts on every Redis call; embedded: one
    # SQLite write transaction) plus microseconds of Python: a bare ninja
    # operation through the test client is ~0.5-0.8 ms, so about 2x is the
    # expected figure and 3x the alarm.
    budget_ratio = 3.0
    rows.append(
        row(
            f"GET with the Guardian stack ({mode} limiter), median per request",
            with_guardian,
            "µs",
            "same operation without Guardian",
            without,
            f"ratio ≤ {budget_ratio:g}",
            ratio <= budget_ratio,
        )
    )
    added = with_guardian - without
    budget_us = 1500
    rows.append(
        row(
            f"Guardian cost per request ({mode} limiter, median difference)",
            added,
            "µs",
            "",
            None,
            f"≤ {budget_us} µs",
            added <= budget_us,
        )
    )
    if redis_mode:
        try:
            client = redis_client.client()
            for found in client.scan_iter(match=f"{settings.GUARDIAN_REDIS_PREFIX}:*"):
                client.delete(found)
        except Exception:  # cleanup only: the keys expire on their own anyway
            pass
    return rows


if __name__ == "__main__":
    for result in run():
        print(result)

"""Liveness and readiness.

``/healthz`` answers 200 without touching anything: the process is alive.
``/readyz`` runs every registered check (database, cache, broker, and what
apps register in their ``AppConfig.ready``) and answers 503 when a required
one fails, naming it. Each check reports its latency so a slow dependency is
visible before it is down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection

from lukhas_site.celery import app
from lukhas_site.tasks import HEARTBEAT_CACHE_KEY

logger = logging.getLogger(__name__)

CheckFunc = Callable[[], str | None]


@dataclass(frozen=True)
class Check:
    name: str
    func: CheckFunc
    required: bool = True
    description: str = ""


@dataclass
class CheckResult:
    name: str
    ok: bool
    required: bool
    latency_ms: float
    error: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


_checks: dict[str, Check] = {}


def register_check(
    name: str, func: CheckFunc, *, required: bool = True, description: str = ""
) -> None:
    """Add a readiness check. ``func`` raises to fail; it may return a detail string."""
    _checks[name] = Check(name=name, func=func, required=required, description=description)


def registered_checks() -> list[Check]:
    return list(_checks.values())


def run_checks() -> list[CheckResult]:
    results = []
    for check in _checks.values():
        started = time.perf_counter()
        try:
            detail = check.func()
            error = None
        except Exception as exc:  # a check must report, never crash /readyz
            detail = None
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("readiness check %s failed: %s", check.name, error)
        results.append(
            CheckResult(
                name=check.name,
                ok=error is None,
                required=check.required,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                error=error,
                detail=detail,
            )
        )
    return results


def is_ready(results: list[CheckResult]) -> bool:
    return all(r.ok for r in results if r.required)


# --- built-in checks -------------------------------------------------------


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_cache() -> str:
    key = "lukhas:readyz:probe"
    token = str(time.time_ns())
    cache.set(key, token, timeout=30)
    if cache.get(key) != token:
        raise RuntimeError("value written to the cache could not be read back")
    return caches["default"].__class__.__name__


def check_broker() -> str:
    timeout = settings.READINESS_TIMEOUT_SECONDS
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout, interval_start=0)
        driver = conn.transport.driver_type
        if driver == "redis":
            # kombu connects lazily; a ping proves the server answers.
            conn.default_channel.client.ping()
        elif driver == "filesystem":
            _check_filesystem_broker()
        return driver


def _check_filesystem_broker() -> None:
    for sub in ("queue", "processed", "control"):
        folder = settings.BROKER_DIR / sub
        if not folder.is_dir():
            raise RuntimeError(f"broker folder {folder} is missing")
        probe = folder / ".readyz-probe"
        probe.write_text("ok")
        probe.unlink()


def check_scheduler() -> str:
    """Beat enqueues ``lukhas.heartbeat`` and a worker runs it: both are alive."""
    beat_at = cache.get(HEARTBEAT_CACHE_KEY)
    if beat_at is None:
        raise RuntimeError("no heartbeat yet: are celery worker and beat running?")
    age = time.time() - float(beat_at)
    if age > settings.HEARTBEAT_MAX_AGE_SECONDS:
        raise RuntimeError(f"last heartbeat {age:.0f}s ago: worker or beat stopped")
    return f"last heartbeat {age:.0f}s ago"


def register_builtin_checks() -> None:
    register_check("database", check_database, description="SELECT 1 on the default database")
    register_check("cache", check_cache, description="write and read back one key")
    register_check("broker", check_broker, description="connect to the Celery broker")
    # Not required: the web can serve while background work is stopped, but
    # the dashboard must show it.
    register_check(
        "scheduler",
        check_scheduler,
        required=False,
        description="heartbeat task enqueued by beat and run by a worker",
    )

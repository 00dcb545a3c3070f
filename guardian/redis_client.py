"""The Redis connection of Guardian's limiter and idempotency store, with a short breaker.

One client per process and URL (redis-py pools are not shared across a
fork: it checks the pid). Timeouts are short and there are no retries, so a
Redis that went away costs a request one failed attempt, not a stack of
them; after a failure Redis is skipped for ``GUARDIAN_REDIS_RETRY_SECONDS``
so a flood does not pay the connect timeout on every request.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import redis
from django.conf import settings
from django.core.signals import setting_changed
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# What "Redis is not answering" looks like; anything else is a bug and raises.
REDIS_DOWN_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.ReadOnlyError,
    OSError,
)


class BackendUnavailable(Exception):
    """The limiter/idempotency store cannot answer right now."""


_lock = threading.Lock()
_clients: dict[str, redis.Redis] = {}
_down_until = 0.0
_last_warning = 0.0


def enabled() -> bool:
    return bool(settings.GUARDIAN_REDIS_URL)


def client() -> redis.Redis:
    url = settings.GUARDIAN_REDIS_URL
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.get(url)
            if found is None:
                timeout = settings.GUARDIAN_REDIS_TIMEOUT_SECONDS
                found = redis.Redis.from_url(
                    url,
                    socket_timeout=timeout,
                    socket_connect_timeout=timeout,
                    retry=Retry(NoBackoff(), 0),
                    health_check_interval=30,
                )
                _clients[url] = found
    return found


def key(*parts: str) -> str:
    return ":".join((settings.GUARDIAN_REDIS_PREFIX, *parts))


def ensure_up() -> None:
    """Raise BackendUnavailable while the breaker is open."""
    if _down_until and time.monotonic() < _down_until:
        raise BackendUnavailable("Redis marked down after a recent error")


def mark_down(exc: BaseException, operation: str) -> None:
    global _down_until, _last_warning
    now = time.monotonic()
    _down_until = now + settings.GUARDIAN_REDIS_RETRY_SECONDS
    # One warning per retry window, not one per request of a flood.
    if now - _last_warning >= settings.GUARDIAN_REDIS_RETRY_SECONDS:
        _last_warning = now
        logger.warning(
            "guardian: Redis unavailable during %s (%s: %s); fail mode %s",
            operation,
            type(exc).__name__,
            exc,
            settings.GUARDIAN_FAIL_MODE,
        )


def mark_up() -> None:
    global _down_until
    _down_until = 0.0


def reset() -> None:
    """Drop clients and the breaker (settings changed, or a test restarted Redis)."""
    global _down_until
    with _lock:
        for found in _clients.values():
            # Closing a dead connection may fail; there is nothing to do about it.
            with contextlib.suppress(Exception):
                found.close()
        _clients.clear()
        _down_until = 0.0


def _on_setting_changed(setting: str = "", **kwargs: object) -> None:
    if setting.startswith("GUARDIAN_REDIS") or setting == "GUARDIAN_FAIL_MODE":
        reset()


setting_changed.connect(_on_setting_changed)

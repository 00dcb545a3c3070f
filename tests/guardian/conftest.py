"""Guardian test fixtures: clean per-test state, a live site process, a Redis of our own."""

from __future__ import annotations

import pytest

from tests.guardian.helpers import LiveSite, OwnRedis
from tests.services import worker_env


@pytest.fixture(autouse=True)
def _guardian_clean_state():
    """Each test starts with no cached policy, keys, Redis clients or breaker."""
    from guardian import auth, pdp, redis_client, services

    pdp.reset()
    redis_client.reset()
    auth.forget_all_keys()
    services._last_touch.clear()
    services._audit_window[:] = [0.0, 0]
    yield
    pdp.reset()
    redis_client.reset()
    auth.forget_all_keys()


@pytest.fixture
def live_site(transactional_db, tmp_path, guardian_redis_prefix):
    """``live_site(**env) -> LiveSite``: start the site (stopped at the end of the test)."""
    started: list[LiveSite] = []

    def start(**extra: str) -> LiveSite:
        env = worker_env(
            LUKHAS_GUARDIAN_REDIS_PREFIX=guardian_redis_prefix,
            LUKHAS_LOG_LEVEL="WARNING",
            OTEL_TRACES_EXPORTER="none",
            **extra,
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        site = LiveSite(env, tmp_path / f"uvicorn-{len(started)}.log")
        started.append(site)
        return site.start()

    yield start
    for site in started:
        site.stop()


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def redis_limiter(settings, guardian_redis_prefix):
    """Point Guardian at the integration pass's Redis (REDIS_URL)."""
    from tests.services import require_redis

    settings.GUARDIAN_REDIS_URL = require_redis()
    return settings.GUARDIAN_REDIS_URL

"""Guardian test fixtures: clean per-test state, a live site process, a Redis of our own."""

from __future__ import annotations

import pytest

from tests.guardian.helpers import OwnRedis


@pytest.fixture(autouse=True)
def _guardian_clean_state():
    """Each test starts with no cached policy, keys, Redis clients or breaker."""
    from guardian import pdp, redis_client, selectors, services

    pdp.reset()
    redis_client.reset()
    selectors.forget_all_keys()
    services._last_touch.clear()
    services._audit_window[:] = [0.0, 0]
    yield
    pdp.reset()
    redis_client.reset()
    selectors.forget_all_keys()


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

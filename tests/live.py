"""A live site for end-to-end tests: uvicorn as a subprocess on the test database.

``live_site(**env)`` starts the site and stops it after the test; every
app's tests get it from tests/conftest.py.
"""

from __future__ import annotations

import pytest

from tests.guardian.helpers import LiveSite
from tests.services import worker_env


@pytest.fixture
def live_site(transactional_db, tmp_path, guardian_redis_prefix):
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

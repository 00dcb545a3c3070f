"""Shared fixtures: personas, clients, real services.

Personas, as in every LUKHAS Ops test: **alice** the coordinator, **bob**
the maintainer (staff), **charlie** the outsider (a user with no rights).
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings

from guardian import pdp
from tests.services import CeleryWorker, require_redis, worker_env

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _policy_settled_for_query_counts(request, settings) -> None:
    """A query-count test must not catch Guardian's periodic policy re-read.

    The re-read is due every GUARDIAN_POLICY_REFRESH_SECONDS (2 s), so on a
    loaded machine it lands inside or outside the counted block by chance.
    Query-count tests count the request, so the re-read is kept out of them.
    """
    counted = {"django_assert_num_queries", "django_assert_max_num_queries"}
    if counted.isdisjoint(request.fixturenames):
        return
    settings.GUARDIAN_POLICY_REFRESH_SECONDS = 3600
    pdp.current()
    pdp._state.next_check = time.monotonic() + 3600


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(
        "bob", "bob@example.org", PASSWORD, is_staff=True, is_superuser=True
    )


@pytest.fixture
def charlie(django_user_model):
    return django_user_model.objects.create_user("charlie", "charlie@example.org", PASSWORD)


@pytest.fixture
def alice_client(alice):
    """A browser session of alice's (its own Client: `client` stays anonymous)."""
    from django.test import Client

    session = Client()
    session.force_login(alice)
    return session


@pytest.fixture
def bob_client(bob):
    from django.test import Client

    session = Client()
    session.force_login(bob)
    return session


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests leave screenshots and logs for a human to look at."""
    path = Path(settings.BASE_DIR) / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def json_log_lines():
    """Swap the configured root handler's stream for a buffer; parse what it wrote."""
    handler = logging.getLogger().handlers[0]
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)
    old_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger("lukhas.access").setLevel(logging.INFO)

    def read() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    yield read
    handler.setStream(old_stream)
    logging.getLogger().setLevel(old_level)


def _purge_filesystem_broker() -> None:
    queue = settings.BROKER_DIR / "queue"
    if queue.is_dir():
        shutil.rmtree(queue)
    queue.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """A real worker process on this run's broker (filesystem, or Redis if REDIS_URL)."""
    if settings.REDIS_URL:
        require_redis()
        from lukhas_site.celery import app

        app.control.purge()
    else:
        _purge_filesystem_broker()
    worker = CeleryWorker(worker_env(), log_path=tmp_path / "worker.log").start()
    yield worker
    worker.stop()


@pytest.hookimpl(trylast=True)  # after `-m` has deselected what this pass does not run
def pytest_collection_modifyitems(config, items) -> None:
    """Integration tests need the real PostgreSQL and Redis: skip (or fail in CI) without them."""
    import os

    from tests.services import IN_CI, tcp_reachable

    integration = [item for item in items if item.get_closest_marker("integration")]
    if not integration:
        return
    problems = []
    db_url = os.environ.get("DATABASE_URL", "")
    if db_url.startswith("postgres"):
        error = tcp_reachable(db_url, 5432)
        if error:
            problems.append(f"PostgreSQL at {error}")
    else:
        problems.append("DATABASE_URL does not point at PostgreSQL (run `make test-integration`)")
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        problems.append("REDIS_URL is not set")
    elif error := tcp_reachable(redis_url, 6379):
        problems.append(f"Redis at {error}")
    if not problems:
        return
    reason = "integration services unavailable: " + "; ".join(problems)
    if IN_CI:
        raise pytest.UsageError(f"CI=true but {reason}")
    for item in integration:
        item.add_marker(pytest.mark.skip(reason=reason))


# Debian's Chromium through Playwright, for every app's browser tests.
from tests.browser import browser_page, chromium  # noqa: E402, F401
from tests.guardian.kit import api_key_headers, guardian_redis_prefix, mint_key  # noqa: E402, F401

# A live site (uvicorn subprocess on the test database) for any app's e2e tests.
from tests.live import live_site  # noqa: E402, F401

# Debian's Prometheus on a free port (soak sources; the ops pack reuses it).
from tests.prometheus import prometheus_bin, prometheus_server  # noqa: E402, F401

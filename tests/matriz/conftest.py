"""Fixtures of the MATRIZ Django-side tests: a fresh runtime, indexes, another process.

Nothing here imports Django at module level: tests/matriz/engine runs with
``-p no:django`` and collects this conftest too.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


@pytest.fixture(autouse=True)
def _fresh_runtime(request):
    """Each test starts with an empty process runtime (no loaded index, a new pipeline)."""
    if "engine" in request.node.path.parts:
        yield
        return
    from matriz.runtime import reset_runtime

    reset_runtime()
    yield
    reset_runtime()


@pytest.fixture
def make_index(db):
    """``make_index(name="notes", owner="acme", texts=[...])`` -> MemoryIndexModel."""
    from matriz import services

    def make(name="notes", owner="acme", texts=(), **kwargs):
        index = services.index_create(owner=owner, name=name, **kwargs)
        if texts:
            services.items_add(index=index, items=[{"text": t} for t in texts])
            index.refresh_from_db()
        return index

    return make


@pytest.fixture
def published():
    """(task name, args) of every task message handed to the (real) broker during the test."""
    from celery import signals

    sent: list[tuple[str, tuple]] = []

    def record(sender: str | None = None, body: object = None, **kwargs: object) -> None:
        args = body[0] if isinstance(body, tuple | list) else ()
        sent.append((sender, tuple(args)))

    signals.before_task_publish.connect(record, weak=False)
    yield sent
    signals.before_task_publish.disconnect(record)


@pytest.fixture
def other_process():
    """Run Python in a separate process on this test's database (commit first: transactional_db)."""
    from tests.services import REPO, worker_env

    def run(code: str, **env: str) -> str:
        script = (
            "import os, django\n"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'lukhas_site.settings')\n"
            "django.setup()\n" + textwrap.dedent(code)
        )
        proc = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=worker_env(LUKHAS_LOG_LEVEL="WARNING", **env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    return run

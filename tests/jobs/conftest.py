"""Workers for the flow tests: one shared worker process, and dedicated ones to kill.

The shared worker (session scope: starting one costs seconds) consumes the
default queue. A test that kills, stops or races workers gives its jobs a
queue of their own (``job_start(queue=...)``) and starts workers on it, so
the shared worker never takes its messages.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

import tests.jobs.flows  # noqa: F401 - the test process declares the same flows as the worker
from tests.services import REPO, CeleryWorker, require_redis, worker_env

HEARTBEAT = 0.3
STALE = 2.0
FLOW_ENV = {
    "LUKHAS_FLOW_MODULES": "tests.jobs.flows",
    "LUKHAS_JOBS_HEARTBEAT_SECONDS": str(HEARTBEAT),
    "LUKHAS_JOBS_STALE_SECONDS": str(STALE),
}


class FlowWorker(CeleryWorker):
    """A worker on chosen queues, with its own node name, in its own process group."""

    def __init__(
        self, env: dict[str, str], *, log_path: Path, queue: str, name: str, beat: bool = False
    ) -> None:
        super().__init__(env, log_path=log_path, beat=beat)
        self.queue, self.name = queue, name

    @property
    def hostname(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def start(self, timeout: float = 60.0) -> FlowWorker:
        cmd = [
            sys.executable, "-m", "celery", "-A", "lukhas_site", "worker",
            "--loglevel", "INFO", "--concurrency", "1", "--pool", "prefork",
            "--hostname", f"{self.name}@%h", "--without-gossip", "--without-mingle",
            "-Q", self.queue,
        ]  # fmt: skip
        if self.beat:
            cmd += ["--beat", "--schedule", str(self.log_path.with_suffix(".schedule"))]
        self._log = self.log_path.open("ab")
        env = {**self.env, "LUKHAS_LOG_LEVEL": "INFO"}
        start = self.log_path.stat().st_size
        # Its own session, so a SIGKILL reaches the pool child too (a real crash).
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.output()}")
            if b"ready." in self.log_path.read_bytes()[start:]:
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool child: no warm shutdown, no ack, no goodbye."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()


def _purge_broker() -> None:
    if settings.REDIS_URL:
        require_redis()
        from lukhas_site.celery import app

        app.control.purge()
        return
    queue = settings.BROKER_DIR / "queue"
    if queue.is_dir():
        shutil.rmtree(queue)
    queue.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="package")
def jobs_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker on the default queue for the flow tests of this package.

    Package scope, not session: a worker left on the default queue would take
    the tasks other apps' tests give their own workers.
    """
    with django_db_blocker.unblock():
        env = worker_env(**FLOW_ENV)
    _purge_broker()
    log = tmp_path_factory.mktemp("jobs-worker") / "worker.log"
    worker = FlowWorker(env, log_path=log, queue="celery", name=f"jobs-shared-{os.getpid()}")
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def flow_settings(settings):
    """The test process sweeps with the same short heartbeat bounds as the workers."""
    settings.JOBS_HEARTBEAT_SECONDS = HEARTBEAT
    settings.JOBS_STALE_SECONDS = STALE
    return settings


@pytest.fixture
def worker_factory(transactional_db, tmp_path):
    """Start dedicated workers on a queue of this test's own; stops them afterwards."""
    started: list[FlowWorker] = []
    queue = f"jobs-test-{uuid.uuid4().hex[:8]}"

    def start(name: str, *, beat: bool = False, queues: str = "", **extra_env: str) -> FlowWorker:
        env = worker_env(**{**FLOW_ENV, **extra_env})
        worker = FlowWorker(
            env, log_path=tmp_path / f"{name}.log", queue=queues or queue, name=name, beat=beat
        )
        started.append(worker.start())
        return worker

    start.queue = queue
    yield start
    for worker in started:
        if worker.proc and worker.proc.poll() is None:
            worker.stop()

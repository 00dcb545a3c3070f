"""A dream whose worker process is SIGKILLed mid-run succeeds, exactly once, within the bound.

Issue 10, finding 3: the redelivered task found the dream ``running``,
refused it and was acked, and nothing ever reclaimed it. Issue 11: a dream
is a job of the ``dream`` flow, so the jobs machinery is what recovers it:
its step heartbeats; once the heartbeat is older than
LUKHAS_JOBS_STALE_SECONDS the ``jobs.sweep`` beat task (every
LUKHAS_JOBS_SWEEP_SECONDS) resumes the step, so the dream runs again within
STALE + SWEEP seconds of the kill (plus the time a new pool process takes to
start). Here: heartbeat 0.5 s, stale 2 s, sweep 1 s.

The worker is a real ``celery worker --beat`` process started with this
module as its app (``-A tests.edges.test_dream_recovery``): in the worker,
and only there, the thought stage's node takes a long nap the first time it
runs, recording its process id, so the test knows whom to kill while the
dream is ``running``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import signals

from lukhas_site.celery import app  # the app `celery -A tests.edges.test_dream_recovery` runs

NAP_MARKER_ENV = "LUKHAS_TEST_NAP_MARKER"
HEARTBEAT_S, STALE_S, SWEEP_S = 0.5, 2.0, 1.0
# A new pool process, Django set-up and a beat tick on two shared, busy cores.
SLACK_S = 25.0


class NapOnceNode:
    """The real thought node, but its first run (in any process) naps until it is killed."""

    def __init__(self, inner: object, marker: Path) -> None:
        self.inner, self.marker = inner, marker
        self.name, self.stage = inner.name, inner.stage

    async def run(self, ctx: object) -> object:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return await self.inner.run(ctx)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        await asyncio.sleep(60)
        return await self.inner.run(ctx)


@signals.worker_process_init.connect
def _nap_in_the_first_dream(**kwargs: object) -> None:
    marker = os.environ.get(NAP_MARKER_ENV)
    if not marker:
        return  # pytest's own process, or any other worker: nothing changes
    from matriz.engine import default_registry
    from matriz.runtime import reset_runtime

    inner = default_registry.resolve("node:thought.compose")
    default_registry.register(
        "node:thought.compose", NapOnceNode(inner, Path(marker)), replace=True
    )
    reset_runtime()


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    from tests.services import REPO

    cmd = [
        sys.executable, "-m", "celery", "-A", "tests.edges.test_dream_recovery", "worker",
        "--loglevel", "INFO", "--concurrency", "1", "--pool", "prefork", "--beat",
        "--schedule", str(log_path.with_suffix(".schedule")),
        "--hostname", f"recovery-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while b"ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)
    return proc


def _wait(what: str, condition, timeout: float, log_path: Path) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, (
            f"{what} not within {timeout:.0f} s:\n{log_path.read_text(errors='replace')[-4000:]}"
        )
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_it_reruns_a_dream_whose_pool_process_was_killed_exactly_once(tmp_path, settings):
    from jobs.models import Job, JobStatus
    from matriz import services
    from matriz.models import Dream, DreamStatus
    from tests.services import worker_env

    if settings.REDIS_URL:
        app.control.purge()
    else:
        shutil.rmtree(settings.BROKER_DIR / "queue", ignore_errors=True)
        (settings.BROKER_DIR / "queue").mkdir(parents=True, exist_ok=True)
    marker, log_path = tmp_path / "napped.pid", tmp_path / "worker.log"
    env = worker_env(
        LUKHAS_LOG_LEVEL="INFO",
        LUKHAS_JOBS_HEARTBEAT_SECONDS=str(HEARTBEAT_S),
        LUKHAS_JOBS_STALE_SECONDS=str(STALE_S),
        LUKHAS_JOBS_SWEEP_SECONDS=str(SWEEP_S),
        # The nap must be cut by the kill, not by the stage's budget.
        LUKHAS_MATRIZ_STAGE_TIMEOUTS="thought=60000",
        LUKHAS_MATRIZ_DREAM_DEADLINE_MS="60000",
        **{NAP_MARKER_ENV: str(marker)},
    )
    worker = _start_worker(env, log_path)
    try:
        index = services.index_create(owner="acme", name="plans")
        services.items_add(
            index=index,
            items=[
                {"text": "The canary rollout stopped at 5 percent after the budget burned."},
                {"text": "A canary that burns its error budget is rolled back automatically."},
            ],
        )
        dream = services.dream_submit(index=index, seed="why did the canary stop?")
        _wait("the dream napping in a pool process", marker.exists, 60, log_path)
        _wait("the nap's pid", lambda: marker.read_text().strip(), 5, log_path)
        assert Dream.objects.get(pk=dream.pk).status == DreamStatus.RUNNING
        assert Job.objects.get(pk=dream.job_id).status == JobStatus.RUNNING
        os.kill(int(marker.read_text()), signal.SIGKILL)
        killed_at = time.monotonic()

        def done() -> bool:
            return Dream.objects.get(pk=dream.pk).finished

        _wait("the dream finishing", done, STALE_S + SWEEP_S + SLACK_S, log_path)
        recovered_in = time.monotonic() - killed_at
        print(f"dream recovered {recovered_in:.1f} s after the kill")
        dream.refresh_from_db()
        assert dream.status == DreamStatus.SUCCEEDED, dream.error
        assert dream.attempts == 2  # the killed run, and one more
        assert dream.narrative.startswith("A dream seeded by “why did the canary stop?”.")
        # The dream row is written by the step; the job's own end follows it
        # once the step returns (a moment later on a busy machine).
        _wait(
            "the job finishing",
            lambda: Job.objects.get(pk=dream.job_id).is_terminal,
            10,
            log_path,
        )
        job = Job.objects.get(pk=dream.job_id)
        assert job.status == JobStatus.SUCCEEDED and job.attempts == 2, job.log
        assert job.steps.get(name="dream").attempts == 2
        log = log_path.read_text(errors="replace")
        assert log.count(f"dream {dream.public_id} succeeded") == 1, log[-4000:]
        resumed = [entry["line"] for entry in job.log if "resuming" in entry["line"]]
        assert len(resumed) == 1 and "attempt 2 of 3" in resumed[0], job.log
        assert recovered_in >= STALE_S - HEARTBEAT_S  # not before its heartbeat went stale
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

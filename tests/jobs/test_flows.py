"""Multi-step flows driven through real Celery worker processes.

Every test runs twice: on the embedded filesystem broker (first pass) and on
Redis with PostgreSQL (``-m integration``). Effects are files under the
test's tmp dir (tests/jobs/flows.py): ``runs`` counts executions, ``done``
is the effect an idempotent step makes once.
"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import CommandError, call_command

from jobs import services
from jobs.models import FlowStep, Job, JobStatus, StepStatus
from lukhas_site import metrics
from tests.jobs.flows import done, runs

TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


@pytest.fixture(
    params=[
        pytest.param("embedded", id="embedded"),
        pytest.param("redis", id="redis", marks=pytest.mark.integration),
    ],
    autouse=True,
)
def broker(request, transactional_db, flow_settings) -> str:
    """Which pass this is; each pass runs the variant of its broker."""
    if request.param == "embedded" and settings.REDIS_URL:
        pytest.skip("the Redis pass runs the redis variant")
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("the redis variant runs in the integration pass (REDIS_URL)")
    return request.param


def wait_for(job: Job, statuses=TERMINAL, *, timeout: float = 60, sweep: bool = False, workers=()):
    """Poll the row (as the page does) until the job is in one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        if sweep:
            services.jobs_sweep()  # what beat does every JOBS_SWEEP_SECONDS
        time.sleep(0.2)
    logs = "\n".join(w.output() for w in workers)
    steps = list(job.steps.values_list("name", "status", "error"))
    raise AssertionError(f"job still {job.status}; steps {steps}; log {job.log[-10:]}\n{logs}")


def wait_step(job: Job, name: str, status: str, *, timeout: float = 60, workers=()) -> FlowStep:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step = FlowStep.objects.get(job=job, name=name)
        if step.status == status:
            return step
        time.sleep(0.1)
    logs = "\n".join(w.output() for w in workers)
    raise AssertionError(f"{name} still {step.status}, not {status}:\n{logs}")


def statuses(job: Job) -> dict[str, str]:
    return dict(job.steps.values_list("name", "status"))


def test_it_runs_a_linear_flow_to_the_end(jobs_worker, tmp_path, alice):
    job = services.job_start(kind="t-linear", params={"dir": str(tmp_path)}, by=alice)
    job = wait_for(job, workers=[jobs_worker])
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert statuses(job) == dict.fromkeys(["fetch", "build", "publish"], StepStatus.SUCCEEDED)
    assert [runs(tmp_path, s) for s in ("fetch", "build", "publish")] == [1, 1, 1]
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.result["steps"]["publish"] == {"step": "publish", "first": True}
    assert job.attempts == 1 and job.started_by == alice
    order = list(job.steps.order_by("started_at").values_list("name", flat=True))
    assert order == ["fetch", "build", "publish"]


def test_it_retries_a_failing_step_with_backoff_then_succeeds(jobs_worker, tmp_path):
    job = services.job_start(kind="t-flaky", params={"dir": str(tmp_path)})
    job = wait_for(job, workers=[jobs_worker])
    assert job.status == JobStatus.SUCCEEDED, job.error
    flaky = job.steps.get(name="flaky")
    assert flaky.attempts == 2 and runs(tmp_path, "flaky") == 2
    assert flaky.output == {"after_attempts": 2}
    lines = [entry["line"] for entry in job.log]
    assert any(
        "attempt 1 of 3 failed (RuntimeError: the upstream answered 503)" in x for x in lines
    )
    assert done(tmp_path, "after")


def test_it_runs_the_failure_path_when_a_step_fails_for_good(jobs_worker, tmp_path):
    job = services.job_start(kind="t-doomed", params={"dir": str(tmp_path)})
    job = wait_for(job, workers=[jobs_worker])
    assert job.status == JobStatus.FAILED
    assert "step boom failed: ValueError: gate 'p95' is red" in job.error
    assert "failure path undo: succeeded" in job.error
    assert statuses(job) == {
        "ok": StepStatus.SUCCEEDED,
        "boom": StepStatus.FAILED,
        "never": StepStatus.SKIPPED,
        "undo": StepStatus.SUCCEEDED,
    }
    assert runs(tmp_path, "boom") == 2  # one retry, then for good
    assert done(tmp_path, "undo") and not done(tmp_path, "never")


def test_it_goes_on_when_a_person_approves(jobs_worker, tmp_path, bob):
    job = services.job_start(kind="t-approval", params={"dir": str(tmp_path)})
    job = wait_for(job, {JobStatus.WAITING}, workers=[jobs_worker])
    assert not done(tmp_path, "ship")
    step = services.step_decide(job=job, approve=True, by=bob, reason="gates green")
    assert (step.decision, step.decided_by, step.reason) == ("approved", bob, "gates green")
    job = wait_for(job, workers=[jobs_worker])
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert done(tmp_path, "ship") and not done(tmp_path, "undo")


def test_it_fails_and_compensates_when_a_person_rejects(jobs_worker, tmp_path, bob):
    job = services.job_start(kind="t-approval", params={"dir": str(tmp_path)})
    job = wait_for(job, {JobStatus.WAITING}, workers=[jobs_worker])
    services.step_decide(job=job, approve=False, by=bob, reason="p95 regressed")
    job = wait_for(job, workers=[jobs_worker])
    assert job.status == JobStatus.FAILED
    assert "rejected by bob: p95 regressed" in job.error
    assert statuses(job)["ship"] == StepStatus.SKIPPED
    assert done(tmp_path, "undo") and not done(tmp_path, "ship")


def test_it_times_out_an_approval_nobody_decided(jobs_worker, tmp_path):
    job = services.job_start(kind="t-approval-short", params={"dir": str(tmp_path)})
    job = wait_for(job, {JobStatus.WAITING}, workers=[jobs_worker])
    job = wait_for(job, sweep=True, workers=[jobs_worker])
    assert job.status == JobStatus.FAILED
    sign_off = job.steps.get(name="sign-off")
    assert sign_off.decision == "expired" and sign_off.error.startswith("no decision by")
    assert done(tmp_path, "undo") and not done(tmp_path, "ship")


def test_it_cancels_a_flow_mid_step(jobs_worker, tmp_path, bob):
    job = services.job_start(kind="t-slow", params={"dir": str(tmp_path), "slow_seconds": 30})
    wait_step(job, "slow", StepStatus.RUNNING, workers=[jobs_worker])
    services.job_cancel(job=job, by=bob, reason="wrong release")
    wait_step(job, "slow", StepStatus.CANCELLED, timeout=15, workers=[jobs_worker])
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.error == "cancelled by bob: wrong release"
    assert statuses(job) == {
        "first": StepStatus.SUCCEEDED,
        "slow": StepStatus.CANCELLED,
        "last": StepStatus.CANCELLED,
    }
    assert not done(tmp_path, "slow") and runs(tmp_path, "last") == 0


def test_it_resumes_after_the_worker_is_sigkilled_mid_step(worker_factory, tmp_path, monkeypatch):
    first = worker_factory("doomed-worker")
    job = services.job_start(
        kind="t-slow",
        params={"dir": str(tmp_path), "slow_seconds": 1.5},
        queue=worker_factory.queue,
    )
    wait_step(job, "slow", StepStatus.RUNNING, workers=[first])
    deadline = time.monotonic() + 30
    while runs(tmp_path, "slow") == 0:  # the step has begun its work, not just been claimed
        assert time.monotonic() < deadline, first.output()
        time.sleep(0.05)
    first.kill()
    assert not done(tmp_path, "slow")
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    second = worker_factory("rescue-worker", PROMETHEUS_MULTIPROC_DIR=str(prom_dir))
    job = wait_for(job, sweep=True, workers=[first, second])
    assert job.status == JobStatus.SUCCEEDED, job.error
    # The step it was in ran again; the ones before and after ran once; every
    # effect happened exactly once.
    assert [runs(tmp_path, s) for s in ("first", "slow", "last")] == [1, 2, 1]
    assert all(done(tmp_path, s) for s in ("first", "slow", "last"))
    assert job.attempts == 2 and job.steps.get(name="slow").attempts == 2
    assert any("stopped (last heartbeat" in e["line"] and "resuming" in e["line"] for e in job.log)
    assert job.steps.get(name="slow").claimed_by.startswith("rescue-worker@")
    # The worker's pool child wrote its metrics to the shared folder; /metrics merges them.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(prom_dir))
    text = metrics.render_latest()[0].decode()
    assert 'lukhas_job_total{kind="t-slow",outcome="succeeded"} 1.0' in text
    assert 'lukhas_job_duration_seconds_count{kind="t-slow"} 1.0' in text
    assert 'lukhas_jobs_running{kind="t-slow"} 0.0' in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_survives_a_broker_restart_mid_flow(worker_factory, tmp_path, broker):
    params = {"dir": str(tmp_path), "pause": 1.0}
    if broker == "embedded":
        # The filesystem broker is a folder: "restarting" it is every consumer
        # going away while the messages stay, then a new one coming.
        first = worker_factory("before-restart")
        job = services.job_start(kind="t-linear", params=params, queue=worker_factory.queue)
        wait_step(job, "build", StepStatus.RUNNING, workers=[first])
        # The worker stops reading the broker (as when it goes away), build
        # finishes, publish's message is written into the folder and waits.
        replies = current_app.control.cancel_consumer(
            worker_factory.queue, destination=[first.hostname], reply=True, timeout=10
        )
        assert replies, first.output()
        wait_step(job, "build", StepStatus.SUCCEEDED, workers=[first])
        first.stop()
        assert FlowStep.objects.get(job=job, name="publish").status == StepStatus.QUEUED
        second = worker_factory("after-restart")
        job = wait_for(job, workers=[first, second])
        assert job.steps.get(name="publish").claimed_by.startswith("after-restart@")
    else:
        job = _run_through_a_redis_restart(worker_factory, tmp_path, params)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [runs(tmp_path, s) for s in ("fetch", "build", "publish")] == [1, 1, 1]


def _run_through_a_redis_restart(worker_factory, tmp_path, params) -> Job:
    """Our own redis-server (the shared one is never restarted), with an append-only file."""
    from kombu import Connection

    from lukhas_site.celery import app

    port = _free_port()
    data = tmp_path / "redis"
    data.mkdir()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data),
           "--appendonly", "yes", "--save", ""]  # fmt: skip

    def start_redis() -> subprocess.Popen:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    redis_proc = start_redis()
    url = f"redis://127.0.0.1:{port}/0"
    queue = worker_factory.queue
    # Beat runs in this worker: the sweeper re-sends whatever the outage lost.
    worker = worker_factory(
        "redis-restart",
        beat=True,
        queues=f"{queue},celery",
        LUKHAS_BROKER_URL=url,
        LUKHAS_RESULT_BACKEND=url,
        LUKHAS_JOBS_SWEEP_SECONDS="1",
    )
    try:
        job = services.job_start(kind="t-linear", params=params, queue=queue)
        # job_start published on the site's broker, where nobody reads this
        # queue; the flow's first message goes to the private broker instead.
        app.send_task("jobs.t-linear.fetch", args=[job.pk], queue=queue, connection=Connection(url))
        wait_step(job, "build", StepStatus.RUNNING, workers=[worker])
        subprocess.run(["redis-cli", "-p", str(port), "shutdown"], check=False, timeout=10)
        redis_proc.wait(timeout=10)
        time.sleep(2)
        redis_proc = start_redis()
        return wait_for(job, timeout=90, workers=[worker])
    finally:
        worker.stop()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)


def test_it_lets_one_of_two_racing_workers_run_a_step(worker_factory, tmp_path):
    one, two = worker_factory("racer-one"), worker_factory("racer-two")
    job = services.job_start(
        kind="t-single", params={"dir": str(tmp_path), "pause": 1.0}, queue=worker_factory.queue
    )
    for _ in range(3):  # the same step delivered again and again: redeliveries, duplicates
        current_app.send_task("jobs.t-single.once", args=[job.pk], queue=worker_factory.queue)
    job = wait_for(job, workers=[one, two])
    assert job.status == JobStatus.SUCCEEDED
    time.sleep(1.5)  # let the duplicate deliveries land
    assert runs(tmp_path, "once") == 1
    assert job.steps.get(name="once").attempts == 1
    job.refresh_from_db()
    refused = [e for e in job.log if "was not claimed" in e["line"]]
    assert refused, job.log


def test_it_joins_parallel_steps_before_the_next(jobs_worker, tmp_path):
    job = services.job_start(kind="t-parallel", params={"dir": str(tmp_path)})
    job = wait_for(job, workers=[jobs_worker])
    assert job.status == JobStatus.SUCCEEDED, job.error
    steps = {s.name: s for s in job.steps.all()}
    joined_at = steps["join"].started_at
    assert all(steps[n].finished_at <= joined_at for n in ("left", "right", "ready"))
    assert steps["join"].output == {"joined": ["left", "right"], "ready": {"flag": "seen"}}
    assert {steps[n].index for n in ("left", "right", "ready")} == {1}


def test_it_follows_a_job_to_its_end_from_the_cli(jobs_worker, tmp_path, capsys):
    job = services.job_start(kind="t-linear", params={"dir": str(tmp_path), "pause": 0.3})
    call_command("job_status", str(job.pk), "--wait", "--timeout", "60")
    out = capsys.readouterr().out
    assert f"t-linear #{job.pk}: succeeded (3/3)" in out
    assert f"t-linear #{job.pk}: 100%" in out  # the tqdm bar was drawn
    (tmp_path / "x").mkdir()
    failing = services.job_start(kind="t-doomed", params={"dir": str(tmp_path / "x")})
    with pytest.raises(CommandError, match="failed"):
        call_command("job_status", str(failing.pk), "--wait", "--timeout", "60")

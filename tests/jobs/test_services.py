"""The state machine in-process: the sweeper under time_machine, decisions, metrics.

Steps run here by calling the service a worker calls (``step_execute``);
messages are not sent (the test's transaction never commits, so on-commit
publishing does not happen, and ``django_capture_on_commit_callbacks`` shows
what would have been sent).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from celery import current_app
from django.core.exceptions import ImproperlyConfigured
from prometheus_client import REGISTRY

from jobs import flows, services
from jobs.models import FlowStep, Job, JobStatus, StepStatus
from lukhas_site.errors import Conflict, InvalidRequest
from tests.jobs.flows import done, runs

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def inprocess(settings):
    """Stale after 2 s like the worker tests; the heartbeat thread never writes here."""
    settings.JOBS_HEARTBEAT_SECONDS = 60
    settings.JOBS_STALE_SECONDS = 2
    return settings


def drive(job: Job, worker: str = "test-worker/1") -> Job:
    """Run every queued step in this process, as a worker would, until none is left."""
    for _ in range(20):
        queued = list(
            FlowStep.objects.filter(job=job, status=StepStatus.QUEUED).values_list(
                "name", flat=True
            )
        )
        if not queued:
            break
        for name in queued:
            services.step_execute(job_id=job.pk, step_name=name, worker=worker)
    job.refresh_from_db()
    return job


def claim(job: Job, step: str, worker: str) -> None:
    """What a worker's claim leaves behind, for a worker that then dies mid-step."""
    now = datetime.now(UTC)
    FlowStep.objects.filter(job=job, name=step, status=StepStatus.QUEUED).update(
        status=StepStatus.RUNNING, claimed_by=worker, heartbeat_at=now, attempts=1
    )
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=max(job.attempts, 1))


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_it_resumes_a_step_whose_worker_died_exactly_once(
    inprocess, tmp_path, django_capture_on_commit_callbacks
):
    with time_machine.travel(T0, tick=False):
        job = services.job_start(kind="t-single", params={"dir": str(tmp_path)})
        claim(job, "once", "w-1/11")
    with time_machine.travel(T0 + timedelta(seconds=1), tick=False):
        assert services.jobs_sweep().resumed == []  # one missed beat is not death
    with (
        time_machine.travel(T0 + timedelta(seconds=5), tick=False),
        django_capture_on_commit_callbacks(execute=False) as sent,
    ):
        first = services.jobs_sweep()
        second = services.jobs_sweep()
    assert first.resumed == [f"{job.pk}/once"]
    assert second.resumed == []  # a second sweeper finds nothing to repair
    assert len(sent) == 1
    job.refresh_from_db()
    step = job.steps.get(name="once")
    assert (step.status, step.claimed_by, job.attempts, job.status) == (
        StepStatus.QUEUED,
        "",
        2,
        JobStatus.QUEUED,
    )
    assert (
        "worker w-1/11 stopped (last heartbeat 12:00:00): resuming, attempt 2 of 3"
        in (job.log[-1]["line"])
    )
    # The resumed delivery runs it.
    job = drive(job)
    assert job.status == JobStatus.SUCCEEDED and runs(tmp_path, "once") == 1


@pytest.mark.django_db
def test_it_fails_a_job_whose_worker_keeps_dying(inprocess, tmp_path):
    with time_machine.travel(T0, tick=False):
        job = services.job_start(kind="t-single", params={"dir": str(tmp_path)}, max_attempts=2)
        claim(job, "once", "w-1/11")
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        assert services.jobs_sweep().resumed == [f"{job.pk}/once"]
        job.refresh_from_db()
        claim(job, "once", "w-2/12")
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False):
        report = services.jobs_sweep()
    assert report.failed == [f"{job.pk}/once"]
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "worker w-2/12 stopped" in job.error
    assert "started 2 time(s), max_attempts is 2" in job.error


@pytest.mark.django_db
def test_it_expires_an_approval_at_its_deadline(inprocess, tmp_path):
    with time_machine.travel(T0, tick=False):
        job = drive(services.job_start(kind="t-approval-short", params={"dir": str(tmp_path)}))
        assert job.status == JobStatus.WAITING
        assert services.jobs_sweep().expired == []
    with time_machine.travel(T0 + timedelta(seconds=2), tick=False):
        with pytest.raises(Conflict, match="was due by"):  # even before the sweeper came
            services.step_decide(job=job, approve=True, by="bob")
        assert services.jobs_sweep().expired == [f"{job.pk}/sign-off"]
        job = drive(job)
    assert job.status == JobStatus.FAILED and done(tmp_path, "undo")
    assert "no decision by 2026-12-01 12:00:01 UTC" in job.error


@pytest.mark.django_db
def test_it_resends_a_queued_step_whose_message_was_lost(
    inprocess, tmp_path, django_capture_on_commit_callbacks
):
    with time_machine.travel(T0, tick=False):
        job = services.job_start(kind="t-linear", params={"dir": str(tmp_path)})
    with (
        time_machine.travel(T0 + timedelta(seconds=5), tick=False),
        django_capture_on_commit_callbacks(execute=False) as sent,
    ):
        assert services.jobs_sweep().resent == [f"{job.pk}/fetch"]
        assert services.jobs_sweep().resent == []
    assert len(sent) == 1


@pytest.mark.django_db
def test_it_refuses_decisions_that_make_no_sense(inprocess, tmp_path, bob):
    job = drive(services.job_start(kind="t-approval", params={"dir": str(tmp_path)}))
    with pytest.raises(InvalidRequest, match="A rejection needs a reason"):
        services.step_decide(job=job, approve=False, by=bob, reason="  ")
    with pytest.raises(Conflict, match="no step waiting for a decision named 'ship'"):
        services.step_decide(job=job, approve=True, by=bob, step_name="ship")
    services.step_decide(job=job, approve=True, by=bob)
    with pytest.raises(Conflict, match="no step waiting"):
        services.step_decide(job=job, approve=True, by=bob)


@pytest.mark.django_db
def test_it_retries_a_failed_job_from_the_step_that_failed(inprocess, tmp_path, bob):
    job = drive(services.job_start(kind="t-approval", params={"dir": str(tmp_path)}))
    services.step_decide(job=job, approve=False, by=bob, reason="not yet")
    job = drive(job)
    assert job.status == JobStatus.FAILED
    with pytest.raises(Conflict, match="only a queued, running or waiting job"):
        services.job_cancel(job=job, by=bob)
    job = services.job_retry(job=job, by=bob)
    assert job.status == JobStatus.WAITING  # prepare stays done; sign-off asks again
    assert runs(tmp_path, "prepare") == 1
    services.step_decide(job=job, approve=True, by=bob)
    job = drive(job)
    assert job.status == JobStatus.SUCCEEDED
    with pytest.raises(Conflict, match="only a failed or cancelled job"):
        services.job_retry(job=job, by=bob)


@pytest.mark.django_db
def test_it_counts_jobs_their_duration_and_the_running_ones(inprocess, tmp_path):
    before = sample("lukhas_job_total", kind="t-gauge", outcome="succeeded")
    durations = sample("lukhas_job_duration_seconds_count", kind="t-gauge")
    job = drive(services.job_start(kind="t-gauge", params={}))
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["steps"]["look"] == {"running_while_in_step": 1.0}
    assert sample("lukhas_job_total", kind="t-gauge", outcome="succeeded") == before + 1
    assert sample("lukhas_job_duration_seconds_count", kind="t-gauge") == durations + 1
    assert sample("lukhas_jobs_running", kind="t-gauge") == 0.0
    cancelled = sample("lukhas_job_total", kind="t-linear", outcome="cancelled")
    services.job_cancel(job=services.job_start(kind="t-linear", params={"dir": str(tmp_path)}))
    assert sample("lukhas_job_total", kind="t-linear", outcome="cancelled") == cancelled + 1


@pytest.mark.django_db
def test_it_bounds_the_log(inprocess, settings):
    settings.JOBS_LOG_LINES = 5
    job = services.job_start(kind="t-gauge", params={})
    for n in range(12):
        services.job_log(job_id=job.pk, line=f"line {n}", step="look")
    job.refresh_from_db()
    assert [e["line"] for e in job.log] == [f"line {n}" for n in range(7, 12)]


@pytest.mark.django_db
def test_it_refuses_progress_beyond_the_total(inprocess):
    job = services.job_start(kind="t-gauge", params={})
    with pytest.raises(InvalidRequest, match="done must be between 0 and total"):
        services.job_progress(job_id=job.pk, done=5, total=3)


def test_it_refuses_flows_declared_wrong():
    step = flows.Step("a", lambda ctx: None)
    with pytest.raises(ImproperlyConfigured, match="step names repeat"):
        flows.Flow("dup", steps=[step, step])
    with pytest.raises(ImproperlyConfigured, match="at least two steps"):
        flows.Parallel(step)
    with pytest.raises(ImproperlyConfigured, match="lower-case letters"):
        flows.Step("Bad Name", lambda ctx: None)
    with pytest.raises(ImproperlyConfigured, match="cannot be part of a Parallel"):
        flows.Parallel(step, flows.Approval("ok"))


def test_it_makes_a_task_for_every_step_and_schedules_the_sweeper(settings):
    names = set(current_app.tasks)
    assert {"jobs.t-linear.fetch", "jobs.t-doomed.undo", "jobs.t-parallel.ready"} <= names
    assert "jobs.t-approval.sign-off" not in names  # a person decides, not a worker
    assert "jobs.sweep" in names
    assert settings.CELERY_BEAT_SCHEDULE["jobs-sweep"]["task"] == "jobs.sweep"


def test_it_backs_off_exponentially_with_a_cap():
    step = flows.Step("s", lambda ctx: None, retries=5, backoff=2, max_backoff=10)
    assert [step.backoff_for(n) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]

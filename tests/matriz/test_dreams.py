"""Dreams as jobs: submitted after commit, run once by the ``dream`` flow, also in a real worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from jobs import services as jobs
from jobs.models import FlowStep, Job, JobStatus, StepStatus
from lukhas_site.errors import InvalidRequest
from matriz import services
from matriz.models import Dream, DreamStatus

pytestmark = pytest.mark.django_db

PLANS = [
    "The canary rollout stopped at 5 percent after the error budget burned.",
    "Guardian denied the key without a scope and logged the denial.",
    "The soak run held p95 under budget for 48 hours before promotion.",
    "A canary that burns its error budget is rolled back automatically.",
    "Promotion to GA needs the soak evidence pack and every gate green.",
    "The error budget policy pauses rollouts when burn rate exceeds two.",
]


def _assert_dreamt(dream: Dream, attempts: int = 1) -> None:
    assert dream.status == DreamStatus.SUCCEEDED, dream.error
    assert dream.narrative.startswith("A dream seeded by “why did the canary stop?”.")
    assert "It opens on “" in dream.narrative
    assert [link["stage"] for link in dream.chain] == [
        "memory", "attention", "thought", "action", "decision", "awareness",
    ]  # fmt: skip
    assert all(link["status"] == "ok" for link in dream.chain)
    assert dream.memory_ids and all(i.startswith("mem_") for i in dream.memory_ids)
    assert dream.associations[0]["from"] == dream.memory_ids[0]
    assert dream.finished_at is not None and dream.duration_ms > 0
    assert dream.attempts == attempts


@pytest.fixture
def inprocess(settings):
    """The heartbeat thread never writes during an in-process step; stale after 2 s."""
    settings.JOBS_HEARTBEAT_SECONDS = 60
    settings.JOBS_STALE_SECONDS = 2
    return settings


def run(dream: Dream, worker: str = "test-worker/1") -> Dream:
    """Deliver the dream's step as a worker would (the job's task), then re-read the dream."""
    jobs.step_execute(job_id=dream.job_id, step_name="dream", worker=worker)
    dream.refresh_from_db()
    return dream


def test_it_runs_a_dream_as_a_job(make_index, inprocess, django_capture_on_commit_callbacks):
    index = make_index(texts=PLANS)
    with django_capture_on_commit_callbacks() as callbacks:
        dream = services.dream_submit(index=index, seed="why did the canary stop?", top_k=4)
    assert len(callbacks) == 1  # the step's task is sent only once the rows are committed
    assert dream.public_id.startswith("dream_") and dream.status == DreamStatus.QUEUED
    assert dream.params == {"top_k": 4}
    job = dream.job
    assert (job.kind, job.status, job.params) == ("dream", JobStatus.QUEUED, {"dream": dream.pk})
    assert job.target == dream and job.started_by_label == "owner:acme"

    done = run(dream)
    _assert_dreamt(done)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 1
    assert job.result["steps"]["dream"] == {"dream": dream.public_id, "status": "succeeded"}
    # Deterministic: the same memories, the same dream.
    again = services.dream_submit(index=index, seed="why did the canary stop?", top_k=4)
    assert run(again).narrative == done.narrative


def test_it_runs_a_dream_once_however_often_its_task_is_delivered(make_index, inprocess):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="why did the canary stop?")
    assert run(dream).status == DreamStatus.SUCCEEDED
    # A redelivered message (acks_late) finds the step done and leaves it alone.
    assert jobs.step_execute(job_id=dream.job_id, step_name="dream", worker="w-2/2") == (
        "not-claimed:succeeded"
    )
    assert Dream.objects.get(pk=dream.pk).attempts == 1


def test_it_resumes_a_dream_whose_worker_died_and_dreams_it_once(
    make_index, inprocess, django_capture_on_commit_callbacks
):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="why did the canary stop?")
    # A worker claimed the step, marked the dream running, and was killed.
    now = timezone.now()
    FlowStep.objects.filter(job=dream.job, name="dream").update(
        status=StepStatus.RUNNING, claimed_by="w-1/11", heartbeat_at=now, attempts=1
    )
    Job.objects.filter(pk=dream.job_id).update(status=JobStatus.RUNNING, attempts=1)
    Dream.objects.filter(pk=dream.pk).update(status=DreamStatus.RUNNING, started_at=now, attempts=1)
    # A redelivery of its message while it "runs" is refused: only the sweeper gives it back.
    assert jobs.step_execute(job_id=dream.job_id, step_name="dream", worker="w-2/2") == (
        "not-claimed:running"
    )
    with time_machine.travel(now + timedelta(seconds=inprocess.JOBS_STALE_SECONDS + 1)):
        with django_capture_on_commit_callbacks() as sent:
            assert jobs.jobs_sweep().resumed == [f"{dream.job_id}/dream"]
            assert jobs.jobs_sweep().resumed == []  # once
        assert len(sent) == 1
        done = run(dream, worker="w-2/2")
    _assert_dreamt(done, attempts=2)
    assert Job.objects.get(pk=dream.job_id).status == JobStatus.SUCCEEDED


def test_it_does_not_dream_again_a_dream_that_succeeded_before_its_worker_died(
    make_index, inprocess
):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="why did the canary stop?")
    done = run(dream)
    # The step's row says running again (its worker died after writing the dream).
    FlowStep.objects.filter(job=dream.job, name="dream").update(status=StepStatus.QUEUED)
    Job.objects.filter(pk=dream.job_id).update(status=JobStatus.RUNNING, finished_at=None)
    assert services.dream_execute(dream_id=dream.pk) == {
        "dream": dream.public_id,
        "status": "succeeded",
    }
    again = Dream.objects.get(pk=dream.pk)
    assert (again.attempts, again.narrative, again.finished_at) == (
        1, done.narrative, done.finished_at,
    )  # fmt: skip


def test_it_fails_a_dream_and_its_job_saying_why(make_index, inprocess):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="anything")
    Dream.objects.filter(pk=dream.pk).update(index=None)
    failed = run(dream)
    assert failed.status == DreamStatus.FAILED
    assert failed.error == "memory index 'notes' was deleted before the dream ran"
    assert failed.finished_at is not None
    job = Job.objects.get(pk=dream.job_id)
    assert job.status == JobStatus.FAILED
    assert "memory index 'notes' was deleted before the dream ran" in job.error


def test_it_fails_a_dream_whose_job_is_cancelled(make_index, inprocess, bob):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="anything")
    jobs.job_cancel(job=dream.job, by=bob, reason="not needed")
    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED and dream.finished_at is not None
    assert dream.error == "cancelled by bob: not needed"
    # Its message, delivered late, runs nothing.
    assert run(dream).status == DreamStatus.FAILED and dream.attempts == 0


def test_it_fails_a_dream_whose_worker_keeps_dying(make_index, inprocess):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="anything")
    job = dream.job
    now = timezone.now()
    FlowStep.objects.filter(job=job, name="dream").update(
        status=StepStatus.RUNNING, claimed_by="w-1/11", heartbeat_at=now, attempts=3
    )
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=job.max_attempts)
    Dream.objects.filter(pk=dream.pk).update(status=DreamStatus.RUNNING, started_at=now)
    with time_machine.travel(now + timedelta(seconds=inprocess.JOBS_STALE_SECONDS + 1)):
        assert jobs.jobs_sweep().failed == [f"{job.pk}/dream"]
    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED and dream.finished_at is not None
    assert "worker w-1/11 stopped" in dream.error and "max_attempts is 3" in dream.error


def test_it_dreams_of_nothing_in_an_empty_index(make_index, inprocess):
    dream = services.dream_submit(index=make_index(), seed="what do you remember?")
    done = run(dream)
    assert done.status == DreamStatus.SUCCEEDED
    assert "there is no memory to dream from yet" in done.narrative
    assert done.memory_ids == []


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [({"seed": ""}, "seed"), ({"top_k": 500}, "top_k"), ({"filters": ["x"]}, "filters")],
)
def test_it_refuses_a_dream_it_could_not_run(make_index, kwargs, param):
    args = {"seed": "why?", **kwargs}
    with pytest.raises(InvalidRequest) as refused:
        services.dream_submit(index=make_index(), **args)
    assert refused.value.param == param
    assert not Dream.objects.exists() and not Job.objects.exists()


def _submit_and_wait(index, worker) -> Dream:
    dream = services.dream_submit(index=index, seed="why did the canary stop?")
    deadline = time.monotonic() + 60
    while True:
        dream.refresh_from_db()
        if dream.finished:
            return dream
        assert time.monotonic() < deadline, f"dream still {dream.status}:\n{worker.output()}"
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_it_dreams_in_a_real_worker_in_embedded_mode(make_index, settings, celery_worker):
    if settings.REDIS_URL:
        pytest.skip("embedded-mode test; the Redis pass runs the integration one")
    _assert_dreamt(_submit_and_wait(make_index(texts=PLANS), celery_worker))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_dreams_in_a_real_worker_through_redis(make_index, settings, celery_worker):
    from tests.services import require_postgres

    require_postgres()
    assert settings.CELERY_BROKER_URL.startswith("redis")
    _assert_dreamt(_submit_and_wait(make_index(texts=PLANS), celery_worker))

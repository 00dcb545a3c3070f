"""Dreams: submitted after commit, claimed once, run through the pipeline in a real worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from lukhas_site.errors import InvalidRequest
from matriz import services, tasks
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


def _assert_dreamt(dream: Dream) -> None:
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
    assert dream.attempts == 1


def test_it_runs_a_dream_from_recalled_memories(make_index, django_capture_on_commit_callbacks):
    index = make_index(texts=PLANS)
    with django_capture_on_commit_callbacks() as callbacks:
        dream = services.dream_submit(index=index, seed="why did the canary stop?", top_k=4)
    assert len(callbacks) == 1  # the task is enqueued only once the row is committed
    assert dream.public_id.startswith("dream_") and dream.status == DreamStatus.QUEUED
    assert dream.params == {"top_k": 4}

    done = services.dream_run(dream_id=dream.pk)
    _assert_dreamt(done)
    # Deterministic: the same memories, the same dream.
    again = services.dream_submit(index=index, seed="why did the canary stop?", top_k=4)
    assert services.dream_run(dream_id=again.pk).narrative == done.narrative


def test_it_claims_a_dream_once(make_index):
    index = make_index(texts=PLANS)
    dream = services.dream_submit(index=index, seed="why did the canary stop?")
    assert services.dream_run(dream_id=dream.pk) is not None
    # A redelivered task (acks_late) finds the dream done and leaves it alone.
    assert tasks.run_dream(dream.pk) == {"dream": dream.pk, "ran": False}
    assert Dream.objects.get(pk=dream.pk).attempts == 1


def test_it_never_claims_a_running_dream(make_index):
    """A redelivered message finds its dream running and leaves it: the sweep re-queues it."""
    index = make_index(texts=PLANS)
    dream = services.dream_submit(index=index, seed="why did the canary stop?")
    long_ago = timezone.now() - timedelta(days=1)
    Dream.objects.filter(pk=dream.pk).update(
        status=DreamStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago, attempts=1
    )
    assert services.dream_run(dream_id=dream.pk) is None
    assert Dream.objects.get(pk=dream.pk).attempts == 1


def test_it_fails_a_dream_saying_why(make_index):
    index = make_index(texts=PLANS)
    dream = services.dream_submit(index=index, seed="anything")
    Dream.objects.filter(pk=dream.pk).update(index=None)
    failed = services.dream_run(dream_id=dream.pk)
    assert failed.status == DreamStatus.FAILED
    assert failed.error == "memory index 'notes' was deleted before the dream ran"
    assert failed.finished_at is not None


def test_it_dreams_of_nothing_in_an_empty_index(make_index):
    dream = services.dream_submit(index=make_index(), seed="what do you remember?")
    done = services.dream_run(dream_id=dream.pk)
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
    assert not Dream.objects.exists()


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

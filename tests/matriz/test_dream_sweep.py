"""The stale-claim sweep of dreams and the heartbeat it reads (time under time_machine)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from matriz import services
from matriz.models import Dream, DreamStatus
from matriz.services.claims import Heartbeat, claims_publish
from matriz.services.dreams import DREAM_CLAIMS

pytestmark = pytest.mark.django_db

PLANS = [
    "The canary rollout stopped at 5 percent after the error budget burned.",
    "A canary that burns its error budget is rolled back automatically.",
]


@pytest.fixture
def running(make_index):
    """``running(attempts=1)``: a dream claimed by a worker that stamped its heartbeat now."""

    def make(attempts: int = 1) -> Dream:
        dream = services.dream_submit(index=make_index(texts=PLANS), seed="why did it stop?")
        now = timezone.now()
        Dream.objects.filter(pk=dream.pk).update(
            status=DreamStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=attempts
        )
        return Dream.objects.get(pk=dream.pk)

    return make


def test_it_requeues_a_dream_whose_heartbeat_stopped_exactly_once(running, settings):
    dream = running()
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.MATRIZ_DREAM_STALE_SECONDS + 1)
    ):
        report = services.dreams_sweep()
        assert report.requeued == [dream.pk] and report.published == [dream.pk]
        again = services.dreams_sweep()
    assert again.requeued == [] and again.published == []
    dream.refresh_from_db()
    assert dream.status == DreamStatus.QUEUED and dream.attempts == 1
    assert dream.heartbeat_at is None and dream.started_at is None
    assert dream.enqueued_at is not None
    done = services.dream_run(dream_id=dream.pk)
    assert done.status == DreamStatus.SUCCEEDED and done.attempts == 2


def test_it_leaves_a_dream_whose_heartbeat_is_fresh(running, settings):
    dream = running()
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.MATRIZ_DREAM_STALE_SECONDS - 1)
    ):
        report = services.dreams_sweep()
    assert report.requeued == [] and report.failed == []
    assert Dream.objects.get(pk=dream.pk).status == DreamStatus.RUNNING


def test_it_fails_a_dream_that_used_its_attempts_saying_why(running, settings):
    dream = running(attempts=settings.MATRIZ_DREAM_MAX_ATTEMPTS)
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.MATRIZ_DREAM_STALE_SECONDS + 1)
    ):
        report = services.dreams_sweep()
    assert report.failed == [dream.pk] and report.requeued == []
    dream.refresh_from_db()
    assert dream.status == DreamStatus.FAILED and dream.finished_at is not None
    assert f"on each of {settings.MATRIZ_DREAM_MAX_ATTEMPTS} attempts" in dream.error


def test_it_publishes_a_queued_dream_whose_publish_failed(make_index, settings):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="why did it stop?")
    assert Dream.objects.get(pk=dream.pk).enqueued_at is None  # on_commit never ran here
    report = services.dreams_sweep()
    assert report.published == []  # too fresh: its request may still be publishing
    later = timezone.now() + timedelta(seconds=settings.MATRIZ_DREAM_STALE_SECONDS + 1)
    with time_machine.travel(later):
        assert services.dreams_sweep().published == [dream.pk]
        assert services.dreams_sweep().published == []
    assert Dream.objects.get(pk=dream.pk).enqueued_at is not None


def test_it_publishes_again_a_dream_whose_message_the_broker_lost(make_index, settings):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="why did it stop?")
    Dream.objects.filter(pk=dream.pk).update(enqueued_at=timezone.now())
    within = timezone.now() + timedelta(seconds=settings.BROKER_VISIBILITY_TIMEOUT - 5)
    with time_machine.travel(within):
        assert services.dreams_sweep().published == []
    after = timezone.now() + timedelta(seconds=settings.BROKER_VISIBILITY_TIMEOUT + 5)
    with time_machine.travel(after):
        assert services.dreams_sweep().published == [dream.pk]


def test_it_clears_the_publish_stamp_when_the_broker_refuses(make_index):
    dream = services.dream_submit(index=make_index(texts=PLANS), seed="why did it stop?")

    def refused(pk: int) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    assert claims_publish(spec=DREAM_CLAIMS, pk=dream.pk, publish=refused) is False
    assert Dream.objects.get(pk=dream.pk).enqueued_at is None


def test_it_stamps_the_heartbeat_of_its_own_attempt_only(running):
    dream = running()
    beat = Heartbeat(spec=DREAM_CLAIMS, pk=dream.pk, every=60, guard={"attempts": 1})
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        assert beat.beat() is True
    stamped = Dream.objects.get(pk=dream.pk).heartbeat_at
    assert stamped > dream.heartbeat_at + timedelta(seconds=29)
    Dream.objects.filter(pk=dream.pk).update(attempts=2)  # re-queued and claimed again
    assert beat.beat() is False
    assert Dream.objects.get(pk=dream.pk).heartbeat_at == stamped


@pytest.mark.django_db(transaction=True)
def test_it_keeps_beating_while_the_dream_runs(running):
    dream = running()
    with Heartbeat(spec=DREAM_CLAIMS, pk=dream.pk, every=0.05, guard={"attempts": 1}) as beat:
        deadline = time.monotonic() + 10
        while beat.beats < 3:
            assert time.monotonic() < deadline, "the heartbeat thread did not stamp"
            time.sleep(0.02)
    assert Dream.objects.get(pk=dream.pk).heartbeat_at > dream.heartbeat_at
    stopped = beat.beats
    time.sleep(0.2)
    assert beat.beats == stopped  # the thread stopped with the block

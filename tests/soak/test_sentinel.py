"""The sentinel: beat's round takes snapshots when due, single flight, in a real worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache

from soak import services, tasks
from soak.models import AlertRecord, MetricScrape, Phase, Snapshot, SoakRun
from tests.services import CeleryWorker, require_redis, worker_env
from tests.soak.http_peer import http_peer

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_it_declares_the_sentinel_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["soak-sentinel"]
    assert entry["task"] == "soak.sentinel" == tasks.sentinel.name
    assert entry["schedule"] == django_settings.SOAK_SAMPLE_SECONDS
    assert tasks.sentinel.acks_late is True
    assert tasks.sentinel.time_limit == django_settings.CELERY_TASK_TIME_LIMIT


@pytest.mark.django_db
def test_it_snapshots_only_when_due(gates_file):
    with time_machine.travel(T0, tick=False):
        run = services.soak_start(release="v0.9.0-rc")
        first = services.sentinel_tick()  # no snapshot yet: due at once
    assert isinstance(first[0]["snapshot"], int)
    # The embedded scrape ran first; nothing listens on the test's target: stored as failed.
    assert first[0]["scrape"] == "failed"
    assert MetricScrape.objects.filter(run=run, ok=False).count() == 1
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        assert "snapshot" not in services.sentinel_tick()[0]
    # Half a beat early still counts as due (a beat must not skip an interval).
    with time_machine.travel(T0 + timedelta(minutes=59, seconds=31), tick=False):
        assert isinstance(services.sentinel_tick()[0]["snapshot"], int)
    assert Snapshot.objects.filter(run=run, taken_by_label="beat").count() == 2


@pytest.mark.django_db
def test_it_skips_a_round_while_another_holds_the_lock(gates_file):
    services.soak_start(release="v0.9.0-rc")
    cache.set(tasks.SENTINEL_LOCK, "someone", timeout=60)
    try:
        assert tasks.sentinel() == {"skipped": "another sentinel round is running"}
        assert Snapshot.objects.count() == 0
    finally:
        cache.delete(tasks.SENTINEL_LOCK)
    assert tasks.sentinel()["runs"][0]["phase"] == Phase.RUNNING
    assert Snapshot.objects.count() == 1
    assert cache.get(tasks.SENTINEL_LOCK) is None  # released after the round


@pytest.mark.django_db
def test_it_fails_the_run_on_a_critical_gate_and_records_a_page_alert(gates_file):
    with time_machine.travel(T0, tick=False):
        run = services.soak_start(release="v0.9.0-rc")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        services.snapshot_take(run=run)
    AlertRecord.objects.create(
        run=run, name="HighErrorRate", severity="page", source="prometheus",
        fired_at=T0 + timedelta(hours=1, minutes=5),
    )  # fmt: skip
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        services.snapshot_take(run=run)
    run.refresh_from_db()
    assert run.phase == Phase.FAILED
    assert run.ended_at == T0 + timedelta(hours=2)
    assert run.message.startswith("critical gate no-page-alerts failed: no-page-alerts: 1 is not")
    sentinel_alert = AlertRecord.objects.get(run=run, source="sentinel")
    assert sentinel_alert.severity == "page"
    assert sentinel_alert.name == "SoakCriticalGateFailed:no-page-alerts"


def _worker_broker(settings) -> None:
    if settings.REDIS_URL:
        require_redis()
        from lukhas_site.celery import app

        app.control.purge()


@pytest.mark.django_db(transaction=True)
def test_it_runs_on_beat_in_a_real_worker_and_sends_the_signed_webhook(
    settings, tmp_path, gates_file
):
    if settings.REDIS_URL:
        pytest.skip("this pass runs with Redis; the embedded broker's run is the first pass")
    _beat_to_webhook(settings, tmp_path, gates_file)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_runs_on_beat_through_redis_and_postgres(settings, tmp_path, gates_file):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    _beat_to_webhook(settings, tmp_path, gates_file)


def _beat_to_webhook(settings, tmp_path, gates_file) -> None:
    """beat → soak.sentinel → snapshot → critical failure → soak.notify → our HTTP server."""
    _worker_broker(settings)
    path = gates_file()
    services.soak_start(release="v0.9.0-rc", planned_hours=48)
    run = SoakRun.objects.get()
    AlertRecord.objects.create(
        run=run, name="HighErrorRate", severity="page", source="prometheus",
        fired_at=run.started_at,
    )  # fmt: skip
    secret = "s3cret-for-the-test"
    with http_peer() as receiver:
        env = worker_env(
            LUKHAS_SOAK_GATES_FILE=str(path),
            LUKHAS_SOAK_ARTIFACTS_DIR=str(settings.SOAK_ARTIFACTS_DIR),
            LUKHAS_AUDITS_ARTIFACTS_DIR=str(settings.SOAK_HEALTH_DIR),
            LUKHAS_SOAK_SAMPLE_SECONDS="1",
            LUKHAS_SOAK_WEBHOOK_URL=f"{receiver.url}/hooks/soak",
            LUKHAS_SOAK_WEBHOOK_SECRET=secret,
            LUKHAS_PROMETHEUS_URL="",
            LUKHAS_SOAK_SELF_URL="http://127.0.0.1:9",
        )
        worker = CeleryWorker(env, beat=True, log_path=tmp_path / "worker.log").start()
        try:
            deadline = time.monotonic() + 60
            while not receiver.received:
                assert time.monotonic() < deadline, worker.output()
                time.sleep(0.3)
        finally:
            worker.stop()
    run.refresh_from_db()
    assert run.phase == Phase.FAILED, run.message
    snapshot = Snapshot.objects.get(run=run)
    assert snapshot.taken_by_label == "beat"
    assert len(snapshot.artifacts) == 2
    hook = receiver.received[0]
    assert (hook.method, hook.path) == ("POST", "/hooks/soak")
    expected = "sha256=" + hmac.new(secret.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook.headers["x-lukhas-signature-256"], expected)
    body = json.loads(hook.body)
    assert body["event"] == hook.headers["x-lukhas-event"] == "run_failed"
    assert (body["release"], body["run"], body["phase"]) == ("v0.9.0-rc", run.pk, "failed")
    assert body["failed_gates"] == ["no-page-alerts"]
    assert body["url"].endswith("/soak/")

"""Background work really runs: a worker process, the embedded broker or Redis, beat."""

from __future__ import annotations

import os
import time

import pytest
from django.core.cache import cache

from lukhas_site import metrics
from lukhas_site.context import request_id_var
from lukhas_site.tasks import HEARTBEAT_CACHE_KEY, echo
from tests.services import CeleryWorker, worker_env


def _round_trip(settings) -> dict:
    token = request_id_var.set("req-from-web-77")
    try:
        result = echo.delay("ping").get(timeout=60)
    finally:
        request_id_var.reset(token)
    assert result["value"] == "ping"
    assert result["pid"] != os.getpid()  # a separate worker process ran it
    # The request that enqueued the task is the one its log lines name.
    assert result["request_id"] == "req-from-web-77"
    return result


def test_it_runs_a_task_round_trip_in_embedded_mode(settings, celery_worker):
    if settings.REDIS_URL:
        pytest.skip("this pass runs with Redis; the embedded round trip runs in the first pass")
    assert settings.CELERY_BROKER_URL.startswith("filesystem://")
    _round_trip(settings)


@pytest.mark.integration
def test_it_runs_a_task_round_trip_through_redis(settings, celery_worker):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    _round_trip(settings)


def _run_beat_and_wait_for_heartbeat(tmp_path, settings) -> float:
    cache.delete(HEARTBEAT_CACHE_KEY)
    env = worker_env(LUKHAS_HEARTBEAT_SECONDS="1")
    worker = CeleryWorker(env, beat=True, log_path=tmp_path / "worker-beat.log").start()
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            beat_at = cache.get(HEARTBEAT_CACHE_KEY)
            if beat_at:
                return float(beat_at)
            time.sleep(0.5)
        raise AssertionError(f"no heartbeat from beat + worker:\n{worker.output()}")
    finally:
        worker.stop()


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_declared_schedule_in_embedded_mode(settings, tmp_path):
    if settings.REDIS_URL:
        pytest.skip("embedded-mode test; the Redis pass has its own")
    from django_celery_beat.models import PeriodicTask

    beat_at = _run_beat_and_wait_for_heartbeat(tmp_path, settings)
    assert time.time() - beat_at < 60
    # django-celery-beat copied the schedule declared in settings into the
    # database, where the admin edits it.
    assert PeriodicTask.objects.filter(name="lukhas-heartbeat", task="lukhas.heartbeat").exists()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_runs_the_declared_schedule_with_redis(settings, tmp_path):
    beat_at = _run_beat_and_wait_for_heartbeat(tmp_path, settings)
    assert time.time() - beat_at < 60


def test_it_counts_tasks_by_name_across_processes(settings, celery_worker, tmp_path, monkeypatch):
    """The worker's children write metrics to the shared folder; /metrics merges them."""
    celery_worker.stop()
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    worker = CeleryWorker(
        worker_env(PROMETHEUS_MULTIPROC_DIR=str(prom_dir)), log_path=tmp_path / "w2.log"
    ).start()
    try:
        echo.delay("count-me").get(timeout=60)
    finally:
        worker.stop()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(prom_dir))
    text = metrics.render_latest()[0].decode()
    assert 'lukhas_celery_tasks_total{outcome="success",task="lukhas.echo"} 1.0' in text
    assert 'lukhas_celery_task_duration_seconds_count{task="lukhas.echo"} 1.0' in text

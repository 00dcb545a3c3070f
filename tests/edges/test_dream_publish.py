"""POST /v1/dreams with the broker down: a quick 503, the rows kept, sent by the jobs sweeper later.

Issue 10, finding 7: the request used to hang 1-14 s while Redis was down
(kombu's publish retries, the result backend's subscription). A dream is a
job now (issue 11): its step's message is sent once, without retries, after
commit; refused, the request answers 503 and the step stays queued until
``jobs.sweep`` sends it again. The broker here is a real redis-server of
this test on a free port, stopped and started again; the site's own cache,
limiter and database stay as they are.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import time_machine
from django.utils import timezone

from jobs import services as jobs
from jobs.models import FlowStep, JobStatus, StepStatus
from lukhas_site.celery import app
from matriz.models import Dream, DreamStatus

PLANS = [
    "The canary rollout stopped at 5 percent after the error budget burned.",
    "A canary that burns its error budget is rolled back automatically.",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server process of this test alone (no persistence), on a fixed port."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return self
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def queued_messages(self) -> list[dict]:
        client = redis.Redis(port=self.port)
        return [json.loads(raw) for raw in client.lrange("celery", 0, -1)]


@pytest.fixture
def broker(tmp_path, settings):
    """The site's Celery app pointed at a redis-server of this test (restored afterwards)."""
    server = RedisServer(_free_port(), tmp_path).start()
    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = f"redis://127.0.0.1:{server.port}/0"
    app.conf.broker_transport_options = dict(settings.BROKER_REDIS_TRANSPORT_OPTIONS)
    _drop_connection_pools()
    yield server
    server.stop()
    app.conf.broker_url, app.conf.broker_transport_options = saved
    _drop_connection_pools()


def _drop_connection_pools() -> None:
    # What Celery does after a fork: the next publish connects to the broker now configured.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_fast_keeps_the_dream_and_publishes_it_once_the_broker_is_back(
    client, api_key_headers, broker, settings
):
    auth = api_key_headers()
    created = client.post(
        "/v1/indexes", {"name": "plans"}, content_type="application/json", headers=auth
    )
    items = {"items": [{"text": text} for text in PLANS]}
    client.post(
        f"/v1/indexes/{created.json()['id']}/items",
        items,
        content_type="application/json",
        headers=auth,
    )
    body = json.dumps({"index": "plans", "seed": "why did the canary stop?"})
    # Broker up: sent at once, the dream's step.
    first = client.post("/v1/dreams", body, content_type="application/json", headers=auth)
    assert first.status_code == 200, first.content
    assert [m["headers"]["task"] for m in broker.queued_messages()] == ["jobs.dream.dream"]

    broker.stop()
    started = time.perf_counter()
    refused = client.post("/v1/dreams", body, content_type="application/json", headers=auth)
    elapsed = time.perf_counter() - started
    assert refused.status_code == 503, refused.content
    assert elapsed < 1.5, f"POST /v1/dreams took {elapsed:.2f} s with the broker down"
    error = refused.json()["error"]
    assert error["code"] == "broker_unavailable" and error["type"] == "server_error"
    assert "poll GET /v1/dreams" in error["message"]
    assert int(refused["Retry-After"]) >= 1
    kept = Dream.objects.select_related("job").exclude(public_id=first.json()["id"]).get()
    assert kept.status == DreamStatus.QUEUED and kept.job.status == JobStatus.QUEUED
    assert FlowStep.objects.get(job=kept.job).status == StepStatus.QUEUED
    # A process with no pooled connection yet connects once, refused at once, and says so.
    _drop_connection_pools()
    started = time.perf_counter()
    fresh = client.post("/v1/dreams", body, content_type="application/json", headers=auth)
    assert fresh.status_code == 503 and time.perf_counter() - started < 1.5
    unsent = Dream.objects.exclude(pk=kept.pk).exclude(public_id=first.json()["id"]).get()
    assert client.get(f"/v1/dreams/{unsent.public_id}", headers=auth).json()["status"] == "queued"

    broker.start()
    within = timezone.now() + timedelta(seconds=settings.JOBS_STALE_SECONDS - 5)
    with time_machine.travel(within):
        assert jobs.jobs_sweep().resent == []  # its request may still be sending it
    later = timezone.now() + timedelta(seconds=settings.JOBS_STALE_SECONDS + 1)
    with time_machine.travel(later):
        report = jobs.jobs_sweep()
        assert jobs.jobs_sweep().resent == []  # once
    # The sweeper re-sends every queued step overdue by the stale bound: the two
    # refused ones, and the first, whose message the restart (no persistence)
    # lost. A message that was not lost is a harmless duplicate: the claim.
    dreams = Dream.objects.order_by("pk")
    assert sorted(report.resent) == sorted(f"{d.job_id}/dream" for d in dreams)
    args = sorted(m["headers"]["argsrepr"] for m in broker.queued_messages())
    # The restarted server holds the sweeper's messages only: one per dream.
    assert args == sorted(f"[{d.job_id}]" for d in dreams)

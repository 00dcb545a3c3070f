"""Notifications: signed webhook (verified by a real HTTP server), retries, log and counter."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from prometheus_client import REGISTRY

from soak import services, tasks
from tests.soak.http_peer import http_peer

pytestmark = pytest.mark.django_db
SECRET = "webhook-secret"


def count(event: str, outcome: str) -> float:
    labels = {"event": event, "outcome": outcome}
    return REGISTRY.get_sample_value("lukhas_soak_notifications_total", labels) or 0.0


@pytest.fixture
def soak_run(gates_file):
    return services.soak_start(release="v0.9.0-rc")


def test_it_signs_the_body_as_github_does():
    body = b'{"event":"run_failed"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert services.webhook_signature(SECRET, body) == f"sha256={expected}"


def test_it_delivers_a_body_the_receiver_can_verify(settings, soak_run):
    settings.SOAK_WEBHOOK_SECRET = SECRET
    body = services.notification_body(event="run_finished", run=soak_run)
    with http_peer() as receiver:
        settings.SOAK_WEBHOOK_URL = f"{receiver.url}/hook"
        assert services.webhook_deliver(event="run_finished", body=body) == 200
    got = receiver.received[0]
    signature = got.headers[services.SIGNATURE_HEADER.lower()]
    assert signature == services.webhook_signature(SECRET, got.body)
    assert services.webhook_signature("another secret", got.body) != signature
    assert json.loads(got.body)["delivery"] == body["delivery"]
    assert got.headers["x-lukhas-delivery"] == body["delivery"]


def test_it_retries_a_failed_delivery_then_counts_it_sent(settings, soak_run):
    settings.SOAK_WEBHOOK_SECRET = SECRET
    body = services.notification_body(event="run_failed", run=soak_run)
    before = {o: count("run_failed", o) for o in ("retry", "sent")}
    with http_peer() as receiver:
        receiver.answers = [(503, {}), (500, {}), (200, {"ok": True})]
        settings.SOAK_WEBHOOK_URL = receiver.url
        result = tasks.notify.apply(kwargs={"event": "run_failed", "body": body}).get()
    assert result["outcome"] == "sent"
    assert len(receiver.received) == 3
    assert len({r.headers["x-lukhas-signature-256"] for r in receiver.received}) == 1
    assert count("run_failed", "retry") - before["retry"] == 2
    assert count("run_failed", "sent") - before["sent"] == 1


def test_it_gives_up_after_its_retries_and_counts_it_failed(settings, soak_run):
    settings.SOAK_WEBHOOK_SECRET = SECRET
    body = services.notification_body(event="run_failed", run=soak_run)
    before = count("run_failed", "failed")
    with http_peer(lambda r: (500, {})) as receiver:
        settings.SOAK_WEBHOOK_URL = receiver.url
        result = tasks.notify.apply(kwargs={"event": "run_failed", "body": body}).get()
    assert result["outcome"] == "failed"
    assert len(receiver.received) == tasks.NOTIFY_RETRIES + 1
    assert count("run_failed", "failed") - before == 1


def test_it_logs_and_counts_without_a_webhook(settings, soak_run, caplog):
    settings.SOAK_WEBHOOK_URL = ""
    before = count("run_aborted", "skipped")
    services.soak_abort(run=soak_run, by=None, reason="bad build")
    assert count("run_aborted", "skipped") - before == 1
    assert any(
        "soak run_aborted: v0.9.0-rc" in r.getMessage() and "bad build" in r.getMessage()
        for r in caplog.records
    )

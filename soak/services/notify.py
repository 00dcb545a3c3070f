"""Soak notifications: a signed outgoing webhook, a log line and a counter always.

The body is JSON; ``X-Lukhas-Signature-256: sha256=<hex>`` is the HMAC-SHA256
of the exact body bytes with ``LUKHAS_SOAK_WEBHOOK_SECRET`` (GitHub's
``X-Hub-Signature-256`` scheme, so a receiver verifies it the same way).
Delivery runs in the Celery task ``soak.notify`` (retries with back-off);
without ``LUKHAS_SOAK_WEBHOOK_URL`` only the log line and the counter
(``outcome="skipped"``) record the event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from typing import Any

import httpx
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from soak.metrics import NOTIFICATIONS_TOTAL
from soak.models import SoakRun

log = logging.getLogger(__name__)

NOTIFY_TASK = "soak.notify"
SIGNATURE_HEADER = "X-Lukhas-Signature-256"
WEBHOOK_TIMEOUT_SECONDS = 10.0
EVENTS = ("run_failed", "run_finished", "run_aborted", "gate_failed")


def webhook_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``body`` (what the receiver recomputes and compares)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification_body(*, event: str, run: SoakRun, extra: dict[str, Any] | None = None) -> dict:
    base = settings.JOBS_BASE_URL.rstrip("/")
    return {
        "event": event,
        "delivery": str(uuid.uuid4()),
        "sent_at": timezone.now().isoformat(),
        "release": run.release.name,
        "run": run.pk,
        "phase": run.phase,
        "hours_covered": round(run.hours_covered, 3),
        "planned_hours": run.planned_hours,
        "message": run.message,
        "url": f"{base}/soak/",
        **(extra or {}),
    }


def notification_send(*, event: str, run: SoakRun, extra: dict[str, Any] | None = None) -> dict:
    """Record ``event`` and, when a webhook is configured, deliver it after commit."""
    body = notification_body(event=event, run=run, extra=extra)
    log.warning(
        "soak %s: %s run #%s is %s: %s", event, body["release"], run.pk, run.phase, run.message
    )
    if not settings.SOAK_WEBHOOK_URL:
        NOTIFICATIONS_TOTAL.labels(event=event, outcome="skipped").inc()
        return body

    def publish() -> None:
        try:
            current_app.send_task(
                NOTIFY_TASK, kwargs={"event": event, "body": body}, retry=False, ignore_result=True
            )
        except Exception:  # broker down: the log line above stays the record
            NOTIFICATIONS_TOTAL.labels(event=event, outcome="failed").inc()
            log.warning("soak %s: could not enqueue the webhook", event, exc_info=True)

    transaction.on_commit(publish)
    return body


def webhook_deliver(*, event: str, body: dict[str, Any]) -> int:
    """POST the signed body; raises httpx.HTTPError on a failure (the task retries)."""
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "lukhas-ops-soak",
        "X-Lukhas-Event": event,
        "X-Lukhas-Delivery": str(body.get("delivery", "")),
        SIGNATURE_HEADER: webhook_signature(settings.SOAK_WEBHOOK_SECRET, payload),
    }
    response = httpx.post(
        settings.SOAK_WEBHOOK_URL, content=payload, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS
    )
    response.raise_for_status()
    return response.status_code


def notification_outcome(*, event: str, outcome: str) -> None:
    NOTIFICATIONS_TOTAL.labels(event=event, outcome=outcome).inc()
    log.info("soak %s webhook: %s", event, outcome)

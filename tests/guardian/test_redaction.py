"""Keys and bearer tokens never reach a log line, an error body, a span, a row or the admin."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from guardian.models import Denial, IdempotencyRecord
from lukhas_site import tracing
from tests.guardian.kit import derive_plaintext

pytestmark = pytest.mark.django_db


def _secret(plaintext: str) -> str:
    return plaintext.split("_", 1)[1]


def _exercise(client, plaintext: str) -> list:
    """A tour of answers: ok, 403, 404, 401, 429, an idempotent POST and its replay."""
    headers = {"Authorization": f"Bearer {plaintext}"}
    bad = {"Authorization": f"Bearer {derive_plaintext('never-issued')}"}
    answers = [
        client.get("/api/guardian/me", headers=headers),
        client.get("/api/guardian/policy", headers=headers),
        client.get("/v1/nope", headers=headers),
        client.get("/v1/nope", headers=bad),
        client.get("/api/guardian/me", headers={"Authorization": "Bearer not-a-real-key-at-all"}),
    ]
    for _ in range(2):
        answers.append(
            client.post(
                "/api/guardian/usage",
                {"tokens": 1},
                content_type="application/json",
                headers={**headers, "Idempotency-Key": f"k-{plaintext[:10]}"},
            )
        )
    answers += [client.get("/v1/nope", headers=headers) for _ in range(3)]
    return answers


def test_it_keeps_keys_out_of_logs_and_error_bodies(client, mint_key, json_log_lines, settings):
    settings.DEBUG = True  # ninja and Django say more under DEBUG; still nothing secret
    plaintext, _ = mint_key(scopes=["responses:write"], rpm=6)
    logging.getLogger("guardian").setLevel(logging.DEBUG)
    answers = _exercise(client, plaintext)
    statuses = [a.status_code for a in answers]
    assert {200, 403, 404, 401, 429} <= set(statuses), statuses
    for answer in answers:
        body = answer.content.decode()
        assert _secret(plaintext) not in body
        assert "not-a-real-key-at-all" not in body
        assert _secret(derive_plaintext("never-issued")) not in body
        for name, value in answer.items():
            assert _secret(plaintext) not in value, name
    lines = json_log_lines()
    assert lines, "the tour should have logged something"
    text = json.dumps(lines)
    assert _secret(plaintext) not in text
    assert _secret(derive_plaintext("never-issued")) not in text
    assert "not-a-real-key-at-all" not in text


def test_it_keeps_keys_out_of_spans(client, mint_key):
    exporter = InMemorySpanExporter()
    tracing.add_span_processor(SimpleSpanProcessor(exporter))
    plaintext, key = mint_key(scopes=["responses:write"], rpm=6)
    _exercise(client, plaintext)
    spans = exporter.get_finished_spans()
    assert spans, "Django's instrumentation should have recorded the requests"
    dumped = json.dumps([{**dict(s.attributes or {}), "name": s.name} for s in spans], default=str)
    assert _secret(plaintext) not in dumped
    assert "Bearer" not in dumped
    assert "not-a-real-key-at-all" not in dumped
    assert not any("authorization" in k.lower() for s in spans for k in (s.attributes or {}))
    # What Guardian adds to the span is an id, not the key.
    annotated = [s for s in spans if (s.attributes or {}).get("guardian.api_key_id") == key.pk]
    assert annotated
    exporter.shutdown()


def test_it_keeps_keys_out_of_the_rows_it_writes(client, mint_key, settings):
    settings.GUARDIAN_REDIS_URL = ""  # the embedded store writes rows (Redis: test_idempotency)
    plaintext, _ = mint_key(scopes=["responses:write"], rpm=6)
    _exercise(client, plaintext)
    assert Denial.objects.exists() and IdempotencyRecord.objects.exists()
    for model in (Denial, IdempotencyRecord):
        dumped = json.dumps(list(model.objects.values()), default=str)
        assert _secret(plaintext) not in dumped
        assert "not-a-real-key-at-all" not in dumped


def test_it_keeps_keys_out_of_the_admin_pages(client, bob_client, mint_key):
    plaintext, key = mint_key(scopes=["responses:write"], rpm=6)
    _exercise(client, plaintext)
    for path in (
        "/admin/guardian/apikey/",
        f"/admin/guardian/apikey/{key.pk}/change/",
        "/admin/guardian/denial/",
        f"/admin/guardian/denial/{Denial.objects.first().pk}/change/",
    ):
        page = bob_client.get(path)
        assert page.status_code == 200, path
        assert _secret(plaintext) not in page.content.decode()
        assert key.key_hash not in page.content.decode()

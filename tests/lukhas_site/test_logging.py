"""Log lines are JSON with ids, and no secret survives into them."""

from __future__ import annotations

import logging

import pytest

from lukhas_site.redaction import redact

pytestmark = pytest.mark.django_db

API_KEY = "lk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
BEARER = f"Bearer {API_KEY}"


def test_it_writes_one_json_object_per_line_with_ids(client, json_log_lines):
    client.get("/api/nothing-here", HTTP_X_REQUEST_ID="req-json-1")
    lines = json_log_lines()
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id", "trace_id"} <= set(line)
    access = [line for line in lines if line["logger"] == "lukhas.access"][-1]
    assert access["request_id"] == "req-json-1"
    assert access["route"] == "^api/(?P<rest>.*)$"


def test_it_keeps_secrets_out_of_request_logs(client, json_log_lines):
    logger = logging.getLogger("lukhas.test")
    client.get(
        f"/v1/models?api_key={API_KEY}&token=querysecret123",
        HTTP_AUTHORIZATION=BEARER,
        HTTP_COOKIE="sessionid=cookiesecret999",
    )
    # What a careless handler would do: log the headers it received.
    logger.warning(
        "upstream refused %s with headers %s",
        "/v1/models?token=querysecret123",
        {"Authorization": BEARER, "Cookie": "sessionid=cookiesecret999"},
    )
    raw = "\n".join(str(line) for line in json_log_lines())
    for secret in (API_KEY, "querysecret123", "cookiesecret999"):
        assert secret not in raw
    assert "[REDACTED]" in raw


def test_it_keeps_secrets_out_of_exception_text(json_log_lines):
    logger = logging.getLogger("lukhas.test")
    try:
        raise ValueError(f"upstream said: invalid key {API_KEY} (password=hunter2hunter2)")
    except ValueError:
        logger.exception("call failed for postgres://ops:s3cr3tpass@db.internal/lukhas")
    lines = json_log_lines()
    line = lines[-1]
    assert line["level"] == "ERROR"
    assert "ValueError" in line["exc_info"]
    raw = str(lines)
    for secret in (API_KEY, "hunter2hunter2", "s3cr3tpass"):
        assert secret not in raw


def test_it_keeps_secrets_out_of_extra_fields(json_log_lines):
    logging.getLogger("lukhas.test").warning(
        "request failed", extra={"headers": {"authorization": BEARER}, "key": API_KEY}
    )
    line = json_log_lines()[-1]
    assert API_KEY not in str(line)
    assert line["headers"] == {"authorization": "[REDACTED]"}


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("{'HTTP_AUTHORIZATION': 'Bearer zzz111'}", "zzz111"),
        ("Cookie: sessionid=s1; csrftoken=c2", "sessionid=s1"),
        ("key is sk-proj-ABCDEFGHIJKLMNOPQRSTUV", "ABCDEFGHIJKLMNOPQRSTUV"),
        ("used lk-abcd1234efgh5678 here", "abcd1234efgh5678"),
        ("ghp_0123456789abcdefghijABCDEFGHIJ012345 leaked", "ghp_0123456789abcdefghij"),
        ("GET /callback?code=1&access_token=tok999&x=2", "tok999"),
        ('{"password": "p@ss w0rd"}', "p@ss"),
        ("redis://:redispass@cache:6379/0", "redispass"),
        ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ],
)
def test_it_redacts_secret_shapes(text, secret):
    cleaned = redact(text)
    assert secret not in cleaned
    assert "[REDACTED]" in cleaned


def test_it_leaves_ordinary_text_alone():
    text = "GET /api/coordination/tasks?owner=codex 200 3.1ms task CC-1 blocked by #1"
    assert redact(text) == text


def test_it_redacts_emails_only_when_asked():
    assert redact("mail alice@example.org") == "mail alice@example.org"
    assert redact("mail alice@example.org", emails=True) == "mail [REDACTED]"

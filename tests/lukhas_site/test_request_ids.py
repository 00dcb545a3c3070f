"""X-Request-ID: echoed when sane, generated otherwise, on every response and log line."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_it_echoes_a_sane_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="deploy-42.abc_DEF")
    assert response["X-Request-ID"] == "deploy-42.abc_DEF"


@pytest.mark.parametrize(
    "hostile",
    ["", "a b", "x" * 200, "id\nInjected: yes", "<script>", "-leading-dash"],
)
def test_it_replaces_an_insane_request_id(client, hostile):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=hostile)
    assert response["X-Request-ID"] != hostile
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_it_generates_a_distinct_id_per_request(client):
    ids = {client.get("/healthz")["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("path", ["/healthz", "/", "/v1/unknown", "/api/unknown", "/static/x"])
def test_it_stamps_ids_on_every_kind_of_response(client, path):
    response = client.get(path)
    assert response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Trace-ID"])
    assert response["traceresponse"].startswith(f"00-{response['X-Trace-ID']}-")


def test_it_puts_the_request_id_in_log_lines(client, json_log_lines):
    client.get("/api/unknown", HTTP_X_REQUEST_ID="trace-me-123")
    lines = [line for line in json_log_lines() if line.get("logger") == "lukhas.access"]
    assert lines, "the access log wrote nothing"
    assert lines[-1]["request_id"] == "trace-me-123"
    assert re.fullmatch(r"[0-9a-f]{32}", lines[-1]["trace_id"])

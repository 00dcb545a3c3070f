"""The ASGI body guard, the probe host exemption and the shipped uvicorn flags, in-process."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from django.core.exceptions import DisallowedHost
from django.test import RequestFactory, override_settings

from lukhas_site.edge import BodyLimitGuard, SiteWSGIRequest
from lukhas_site.serve import (
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_LIMIT_CONCURRENCY,
    DEFAULT_MAX_HEADER_BYTES,
    PROTOCOL,
    uvicorn_edge_args,
)
from tests.services import REPO

LIMIT = 1000


def call(guard: BodyLimitGuard, path: str, headers: list, messages: list) -> tuple[list, list]:
    """Run one request through ``guard``; returns (what was sent, bodies the app read)."""
    sent: list = []
    read: list = []
    pending = list(messages)

    async def receive():
        if not pending:
            await asyncio.sleep(3600)  # a client that stopped sending
        return pending.pop(0)

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        while True:
            message = await receive()
            read.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    guard.app = app
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    asyncio.run(guard(scope, receive, send))
    return sent, read


def body_of(sent: list) -> dict:
    return json.loads(sent[1]["body"])


def chunk(size: int, more: bool = True) -> dict:
    return {"type": "http.request", "body": b"x" * size, "more_body": more}


def new_guard(timeout: float = 5.0) -> BodyLimitGuard:
    return BodyLimitGuard(None, max_body_bytes=LIMIT, body_timeout=timeout)


def test_it_refuses_a_declared_length_before_reading_the_body():
    sent, read = call(new_guard(), "/v1/chat/completions", [(b"content-length", b"1001")], [])
    assert read == []
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert body_of(sent)["error"] == {
        "message": "Content-Length 1001 is over the limit of 1000 bytes "
        "(LUKHAS_MAX_BODY_BYTES); send a smaller body.",
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }


def test_it_stops_reading_a_chunked_body_once_it_passes_the_limit():
    messages = [chunk(600), chunk(600), chunk(600, more=False)]
    sent, read = call(new_guard(), "/api/coordination/imports", [], messages)
    assert read == [b"x" * 600]  # the app never saw the chunk that crossed the limit
    assert sent[0]["status"] == 413
    assert set(body_of(sent)["error"]) == {"code", "message", "param"}  # the ops envelope


def test_it_passes_a_body_at_the_limit():
    sent, read = call(new_guard(), "/v1/embeddings", [], [chunk(500), chunk(500, more=False)])
    assert sent[0]["status"] == 200
    assert b"".join(read) == b"x" * LIMIT


def test_it_answers_408_when_the_body_stops_arriving():
    sent, _ = call(new_guard(timeout=0.05), "/v1/chat/completions", [], [chunk(10)])
    assert sent[0]["status"] == 408
    assert body_of(sent)["error"]["code"] == "request_timeout"


def test_it_exempts_only_the_probes_from_the_host_check(settings):
    factory = RequestFactory(HTTP_HOST="10.1.2.3")
    for path, allowed in (("/healthz", True), ("/readyz", True), ("/metrics", False)):
        request = SiteWSGIRequest(factory.get(path).environ)
        if allowed:
            assert request.get_host() == "10.1.2.3"
        else:
            with pytest.raises(DisallowedHost):
                request.get_host()


def test_it_ships_the_same_uvicorn_limits_in_the_procfile():
    web = next(
        line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    flags = dict(re.findall(r"(--[a-z0-9-]+) (\S+)", web))
    assert flags["--http"] == PROTOCOL
    assert (
        flags["--limit-concurrency"]
        == f"${{LUKHAS_LIMIT_CONCURRENCY:-{DEFAULT_LIMIT_CONCURRENCY}}}"
    )
    assert (
        flags["--timeout-keep-alive"]
        == f"${{LUKHAS_KEEP_ALIVE_TIMEOUT:-{DEFAULT_KEEP_ALIVE_TIMEOUT}}}"
    )
    assert (
        flags["--h11-max-incomplete-event-size"]
        == f"${{LUKHAS_MAX_HEADER_BYTES:-{DEFAULT_MAX_HEADER_BYTES}}}"
    )
    # The live tests' command line (tests/guardian/helpers.py) uses the same builder.
    args = uvicorn_edge_args({"LUKHAS_LIMIT_CONCURRENCY": "7"})
    assert args[args.index("--limit-concurrency") + 1] == "7"
    assert args[args.index("--http") + 1] == PROTOCOL


@override_settings(PRODUCTION=True, METRICS_TOKEN="", METRICS_PUBLIC=False)
def test_it_closes_metrics_in_production_without_a_token(client):
    response = client.get("/metrics")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "metrics_closed"


@override_settings(PRODUCTION=True, METRICS_TOKEN="", METRICS_PUBLIC=True)
def test_it_opens_metrics_in_production_on_purpose(client):
    assert client.get("/metrics").status_code == 200


@override_settings(METRICS_TOKEN="s3cret")
def test_it_refuses_a_wrong_metrics_token_in_the_ops_envelope(client):
    response = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert set(response.json()["error"]) == {"code", "message", "param"}

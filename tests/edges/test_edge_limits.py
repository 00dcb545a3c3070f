"""The HTTP edge holds against a hostile client (issue 10, findings 4, 5 and 9).

Each test drives a live site (uvicorn in a subprocess, with the flags the
Procfile ships) the way the findings were measured: raw sockets for stalled
headers and lying lengths, httpx for big but legitimate requests.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from matriz.facade.schemas import MAX_INPUT_CHARS, ChatCompletionIn
from tests.edges.conftest import connect, read_answer, request_head

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SMALL_LIMIT = 32_768  # a body limit the tests can pass cheaply
CHAT = "/v1/chat/completions"


def test_it_refuses_a_declared_oversized_body_before_reading_it(live_site):
    site = live_site(LUKHAS_MAX_BODY_BYTES=str(SMALL_LIMIT))
    for path, envelope_keys in (
        (CHAT, {"message", "type", "param", "code"}),
        ("/api/coordination/tasks", {"code", "message", "param"}),
    ):
        with connect(site.port) as sock:
            # Headers only: the 1 GB never comes; the answer must not wait for it.
            sock.sendall(
                request_head(
                    "POST", path, Content_Type="application/json", Content_Length="1000000000"
                )
            )
            answer = read_answer(sock, timeout=5)
        assert answer.status == 413, answer
        assert answer.seconds < 2
        assert answer.headers["connection"] == "close"
        error = answer.json()["error"]
        assert set(error) == envelope_keys
        assert error["code"] == "request_too_large"
        assert f"limit of {SMALL_LIMIT} bytes" in error["message"]


def test_it_refuses_a_lying_length_and_a_chunked_body_over_the_limit(live_site, api_key_headers):
    site = live_site(LUKHAS_MAX_BODY_BYTES=str(SMALL_LIMIT))
    auth = api_key_headers(scopes=["responses:write"])["Authorization"]
    # Content-Length says 1 GB, a tiny body follows, and an Idempotency-Key
    # (it made Guardian read the body: an HTML 400 before the fix).
    with connect(site.port) as sock:
        sock.sendall(
            request_head(
                "POST",
                CHAT,
                Authorization=auth,
                Idempotency_Key="edge-lying-1",
                Content_Type="application/json",
                Content_Length="1000000000",
            )
            + b'{"model": "matriz-echo"'
        )
        lying = read_answer(sock, timeout=5)
    assert lying.status == 413
    assert lying.headers["content-type"] == "application/json"
    assert lying.json()["error"]["code"] == "request_too_large"

    # No length at all: chunks past the limit are counted as they arrive.
    with connect(site.port) as sock:
        sock.sendall(
            request_head(
                "POST",
                CHAT,
                Authorization=auth,
                Content_Type="application/json",
                Transfer_Encoding="chunked",
            )
        )
        chunk = b"x" * 4096
        for _ in range(10):  # 40 KiB > 32 KiB
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        chunked = read_answer(sock, timeout=5)
    assert chunked.status == 413
    assert chunked.json()["error"] == {
        "message": f"The request body is over the limit of {SMALL_LIMIT} bytes "
        "(LUKHAS_MAX_BODY_BYTES); send a smaller body.",
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }


def test_it_closes_a_stalled_header_within_the_timeout(live_site):
    site = live_site(LUKHAS_HEADER_TIMEOUT="2")
    with connect(site.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        answer = read_answer(sock, timeout=10)
    # Before: still open after 65 s. Now: closed by the server, no answer.
    assert answer.status is None
    assert 1.5 < answer.seconds < 4


def test_it_answers_while_200_stalled_connections_wait_and_then_closes_them(live_site):
    site = live_site(LUKHAS_HEADER_TIMEOUT="3")
    stalled: list[socket.socket] = []
    try:
        for _ in range(200):
            sock = connect(site.port)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            stalled.append(sock)
        started = time.monotonic()
        normal = httpx.get(f"{site.base}/healthz", timeout=5)
        assert normal.status_code == 200
        assert time.monotonic() - started < 2
        deadline = time.monotonic() + 3 + 5
        closed = 0
        for sock in stalled:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass
            except ConnectionResetError:
                closed += 1
        assert closed == 200
    finally:
        for sock in stalled:
            sock.close()


def biggest_chat_request() -> bytes:
    """The biggest body the /v1 chat limits allow, as json.dumps writes it (curl's shape).

    The schema bounds each message (MAX_INPUT_CHARS) and the count (2,048),
    not their product; the façade's own notion of a request's input is
    MAX_INPUT_CHARS in all (what embeddings enforce), so 2,048 messages share
    it, in the worst JSON encoding: astral characters escaped as surrogate
    pairs, 12 bytes each, names at their 64-character maximum.
    """
    count = next(
        m.max_length
        for m in ChatCompletionIn.model_fields["messages"].metadata
        if hasattr(m, "max_length")
    )
    per_message = MAX_INPUT_CHARS // count
    messages = [
        {"role": "assistant", "content": "😀" * per_message, "name": "😀" * 64}
        for _ in range(count - 1)
    ]
    messages.append({"role": "user", "content": "😀" * per_message, "name": "😀" * 64})
    return json.dumps({"model": "matriz-echo", "messages": messages}).encode()


def test_it_holds_the_biggest_request_the_v1_limits_allow(settings):
    body = biggest_chat_request()
    assert len(body) > 13_000_000  # the measure itself: 13.7 MB
    assert len(body) <= settings.MAX_BODY_BYTES
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.MAX_BODY_BYTES


def test_it_answers_big_requests_inside_the_v1_limits(live_site, api_key_headers):
    site = live_site()
    # Budgets above these bodies' tokens: this test is about size, not spend.
    budget = api_key_headers(tpm=10**9, quota=10**10)
    headers = {**budget, "Content-Type": "application/json"}

    def post(body: bytes) -> httpx.Response:
        return httpx.post(f"{site.base}{CHAT}", content=body, headers=headers, timeout=120)

    # 900k CJK characters in one message: 5.4 MB, inside the 1,000,000-character
    # limit of a message (a 500 before the fix). The echo model answers it.
    cjk = json.dumps(
        {"model": "matriz-echo", "messages": [{"role": "user", "content": "漢" * 900_000}]}
    ).encode()
    answer = post(cjk)
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["choices"][0]["message"]["content"].startswith("漢")

    # 100k messages: 3.5 MB (a 500 before), now the documented 400 naming the field.
    many = json.dumps(
        {"model": "matriz-echo", "messages": [{"role": "user", "content": "hi"}] * 100_000}
    ).encode()
    answer = post(many)
    assert answer.status_code == 400, answer.text[:500]
    error = answer.json()["error"]
    assert error["param"] == "messages"
    assert error["code"] == "invalid_value"

    # The biggest request the limits allow passes the edge and is answered.
    answer = post(biggest_chat_request())
    assert answer.status_code == 200, answer.text[:500]
    assert answer.json()["object"] == "chat.completion"


def test_it_answers_probes_with_the_pod_ip_as_host_and_to_head(live_site):
    site = live_site()
    for path in ("/healthz", "/readyz"):
        probe = httpx.get(f"{site.base}{path}", headers={"Host": "10.1.2.3"}, timeout=10)
        assert probe.status_code == 200, (path, probe.text[:300])
        head = httpx.head(f"{site.base}{path}", timeout=10)
        assert head.status_code == 200, path
        assert head.content == b""
    # Only the probes: the rest of the site still checks the host.
    other = httpx.get(f"{site.base}/v1/models", headers={"Host": "10.1.2.3"}, timeout=10)
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "invalid_host"


def test_it_refuses_anonymous_metrics_in_production(live_site):
    site = live_site(
        LUKHAS_ENV="production",
        LUKHAS_SECRET_KEY="edge-test-" + "k" * 50,
        LUKHAS_ALLOWED_HOSTS="127.0.0.1",
        LUKHAS_SECURE_SSL_REDIRECT="false",
        LUKHAS_METRICS_TOKEN="",
    )
    scrape = httpx.get(f"{site.base}/metrics", timeout=10)
    assert scrape.status_code == 403
    assert scrape.json()["error"]["code"] == "metrics_closed"


def test_it_answers_the_concurrency_limit_in_the_envelope(live_site):
    # Two idle connections fill a limit of 2 (uvicorn counts open connections);
    # the next request is refused, as JSON in the path's envelope, not plain text.
    site = live_site(LUKHAS_LIMIT_CONCURRENCY="2")
    idle = [connect(site.port), connect(site.port)]
    try:
        for path, envelope_keys in (
            ("/v1/models", {"message", "type", "param", "code"}),
            ("/api/coordination/tasks", {"code", "message", "param"}),
        ):
            with connect(site.port) as sock:
                sock.sendall(request_head("GET", path))
                answer = read_answer(sock, timeout=5, method="GET")
            assert answer.status == 503, answer
            assert answer.headers["content-type"] == "application/json"
            assert answer.headers["retry-after"] == "1"
            assert answer.headers["x-request-id"]
            error = answer.json()["error"]
            assert set(error) == envelope_keys
            assert error["code"] == "service_unavailable"
            assert "LUKHAS_LIMIT_CONCURRENCY" in error["message"]
    finally:
        for sock in idle:
            sock.close()

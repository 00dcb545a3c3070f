"""The upstream model: a real tiny OpenAI-shaped HTTP server in a thread, and a broken one."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.facade.conftest import sse_events

pytestmark = pytest.mark.django_db


class FakeUpstream:
    def __init__(self, *, status: int = 200) -> None:
        self.status = status
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                if outer.status != 200:
                    self.send_response(outer.status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "boom"}}')
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in ("Hello ", "from ", "upstream"):
                    chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def __enter__(self) -> FakeUpstream:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream(settings):
    def start(status: int = 200) -> FakeUpstream:
        server = FakeUpstream(status=status).__enter__()
        started.append(server)
        settings.FACADE_UPSTREAM_BASE_URL = server.base_url
        settings.FACADE_UPSTREAM_API_KEY = "sk-upstream"
        settings.FACADE_UPSTREAM_MODEL_MAP = {"lukhas-matriz-1": "gpt-4o-mini"}
        return server

    started: list[FakeUpstream] = []
    yield start
    for server in started:
        server.__exit__()


BODY = {
    "model": "lukhas-matriz-1",
    "messages": [{"role": "user", "content": "why did the canary stop?"}],
    "tools": [{"type": "function", "function": {"name": "lookup"}}],
}


def test_it_answers_through_the_upstream_model(post, get, upstream):
    server = upstream()
    answer = post("/chat/completions", BODY).json()
    assert answer["choices"][0]["message"]["content"] == "Hello from upstream"
    sent = server.requests[0]
    assert sent["auth"] == "Bearer sk-upstream"
    assert sent["body"]["model"] == "gpt-4o-mini"
    # The client's tools, then the release's own (docs/facade.md, "The release's own tools").
    assert sent["body"]["tools"][: len(BODY["tools"])] == BODY["tools"]
    assert answer["lukhas"]["reasoning_chain"][-1]["node"] == "upstream:gpt-4o-mini"
    assert "gpt-4o-mini" in [m["id"] for m in get("/models").json()["data"]]
    streamed = sse_events(post("/chat/completions", {**BODY, "stream": True}))
    text = "".join(
        json.loads(data)["choices"][0]["delta"].get("content", "")
        for _, data in streamed[:-1]
        if json.loads(data)["choices"]
    )
    assert text == "Hello from upstream"


def test_it_falls_back_to_the_local_answer_and_says_so(post, upstream):
    upstream(status=500)
    answer = post("/chat/completions", BODY)
    assert answer.status_code == 200
    body = answer.json()
    assert body["choices"][0]["message"]["content"].startswith("No memory index was named")
    failed, fallback = body["lukhas"]["reasoning_chain"][-2:]
    assert failed["node"] == "upstream:gpt-4o-mini" and failed["status"] == "error"
    assert "500" in failed["error_message"]
    assert fallback["fallback_for"] == "upstream:gpt-4o-mini"
    assert body["lukhas"]["status"] == "degraded"


def _gauge(node: str) -> float | None:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("matriz_breaker_state", {"node": node})


def test_it_registers_the_upstream_breaker_with_the_engine(post, upstream):
    from matriz import selectors

    upstream()
    assert post("/chat/completions", BODY).status_code == 200
    breakers = {b["node"]: b for b in selectors.plugins_overview()["breakers"]}
    assert breakers["upstream:gpt-4o-mini"]["state"] == "closed"
    assert breakers["upstream:gpt-4o-mini"]["calls_in_window"] == 1
    assert breakers["upstream:gpt-4o-mini"]["fallback"] == "action.local_answer"
    assert _gauge("upstream:gpt-4o-mini") == 0


def test_it_stops_asking_an_upstream_whose_breaker_opened(post, upstream, settings):
    settings.MATRIZ_BREAKER_MIN_CALLS = 2
    settings.MATRIZ_BREAKER_WINDOW = 2
    server = upstream(status=500)
    for _ in range(2):
        assert post("/chat/completions", BODY).status_code == 200
    assert _gauge("upstream:gpt-4o-mini") == 2  # open
    answer = post("/chat/completions", BODY).json()
    assert len(server.requests) == 2  # the third call never left the process
    failed, fallback = answer["lukhas"]["reasoning_chain"][-2:]
    assert "circuit breaker 'upstream:gpt-4o-mini' is open" in failed["error_message"]
    assert fallback == {
        "stage": "action",
        "node": "action.local_answer",
        "status": "ok",
        "duration_ms": 0.0,
        "memory_ids": [],
        "error_type": None,
        "error_message": None,
        "fallback_for": "upstream:gpt-4o-mini",
    }


def test_it_keeps_one_pooled_client_per_event_loop():
    import asyncio

    from matriz.facade.upstream import clients

    async def twice():
        first, second = clients.get(), clients.get()
        await clients.aclose()
        return first, second, clients.get()

    first, second, after_close = asyncio.run(twice())
    assert first is second and after_close is not first

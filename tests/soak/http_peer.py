"""A real local HTTP server in a thread (http.server): a webhook receiver or an API peer."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Peer:
    url: str
    received: list[Received] = field(default_factory=list)
    # (status, JSON body) for each request, in order; the last one repeats.
    answers: list[tuple[int, object]] = field(default_factory=lambda: [(200, {"ok": True})])


@contextmanager
def http_peer(answer: Callable[[Received], tuple[int, object]] | None = None) -> Iterator[Peer]:
    """Serve on a free loopback port; ``answer`` (or ``peer.answers``) says what to reply."""
    peer = Peer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            got = Received(
                self.command,
                parts.path,
                parse_qs(parts.query),
                {k.lower(): v for k, v in self.headers.items()},
                self.rfile.read(length) if length else b"",
            )
            peer.received.append(got)
            if answer is not None:
                status, body = answer(got)
            else:
                index = min(len(peer.received), len(peer.answers)) - 1
                status, body = peer.answers[index]
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""Helpers of the edge tests: raw HTTP/1.1 over a socket, the way a hostile client talks.

httpx would send a whole, well-formed request; these tests need to send half
of one (a stalled header, a body that never comes) and read what the server
answers, so they write bytes and parse the answer with h11.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass

import h11


@dataclass
class RawAnswer:
    status: int | None  # None: the server closed without answering
    headers: dict[str, str]
    body: bytes
    seconds: float  # from the last byte sent to the end of the answer (or the close)

    def json(self) -> dict:
        return json.loads(self.body)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_answer(sock: socket.socket, *, timeout: float, method: str = "POST") -> RawAnswer:
    """Read one response (or the close) within ``timeout`` seconds; fail if neither comes."""
    started = time.monotonic()
    conn = h11.Connection(h11.CLIENT)
    # h11 must know a request went out to parse the response that follows.
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
    conn.send(h11.EndOfMessage())
    status, headers, body = None, {}, b""
    deadline = started + timeout
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no answer and no close within {timeout} s")
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                raise AssertionError(f"no answer and no close within {timeout} s") from None
            except ConnectionResetError:
                data = b""
            conn.receive_data(data)
            if not data and status is None:
                return RawAnswer(None, {}, b"", time.monotonic() - started)
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            headers = {k.decode().lower(): v.decode() for k, v in event.headers}
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            return RawAnswer(status, headers, body, time.monotonic() - started)


def request_head(method: str, path: str, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()

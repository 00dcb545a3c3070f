"""An OpenAI-shaped upstream that answers with tool calls, in a thread (streamed or as one JSON).

Each request is answered by the next scripted turn: a list of tool calls
(streamed as OpenAI streams them: the head with id and name, then the
arguments in pieces, two calls interleaved by index) or a text. What the
façade sent is kept in ``requests``, so a test sees the tools it offered.
Asked for ``logprobs``, a text comes with one entry per word (and
``top_logprobs`` alternatives), as OpenAI sends them.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ToolUpstream:
    def __init__(self, turns: list[list[dict[str, Any]] | str], *, json_answers: bool = False):
        self.turns = list(turns)
        self.json_answers = json_answers
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                self._logprobs = bool(body.get("logprobs"))
                self._top = int(body.get("top_logprobs") or 0)
                turn = outer.turns.pop(0) if outer.turns else "done"
                if outer.json_answers:
                    self._json(turn)
                else:
                    self._stream(turn)

            def _score(self, token: str) -> dict[str, Any]:
                """One ``logprobs.content`` entry: the token, its log probability, alternatives."""

                def entry(text: str, logprob: float) -> dict[str, Any]:
                    return {"token": text, "logprob": logprob, "bytes": list(text.encode())}

                alternatives = [entry(f"{token.strip()}~{n}", -1.0 - n) for n in range(self._top)]
                return {**entry(token, -0.25), "top_logprobs": alternatives}

            def _json(self, turn: list[dict[str, Any]] | str) -> None:
                message: dict[str, Any] = {"role": "assistant", "content": None}
                scores = None
                if isinstance(turn, str):
                    message["content"] = turn
                    if self._logprobs:
                        words = turn.split(" ")
                        pieces = [w + " " for w in words[:-1]] + words[-1:]
                        scores = {"content": [self._score(piece) for piece in pieces]}
                else:
                    message["tool_calls"] = turn
                finish = "stop" if isinstance(turn, str) else "tool_calls"
                choice = {"index": 0, "message": message, "finish_reason": finish}
                payload = {"choices": [{**choice, "logprobs": scores}]}
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, turn: list[dict[str, Any]] | str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()

                def send(
                    delta: dict[str, Any], finish: str | None = None, scores: Any = None
                ) -> None:
                    choice = {"index": 0, "delta": delta, "finish_reason": finish}
                    chunk = {"choices": [{**choice, "logprobs": scores}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())

                if isinstance(turn, str):
                    for word in turn.split(" "):
                        scores = {"content": [self._score(word + " ")]} if self._logprobs else None
                        send({"content": word + " "}, scores=scores)
                    send({}, "stop")
                else:
                    for index, call in enumerate(turn):
                        head = {"index": index, "id": call["id"], "type": "function"}
                        function = {"name": call["function"]["name"], "arguments": ""}
                        send({"tool_calls": [{**head, "function": function}]})
                    for index, call in enumerate(turn):  # arguments after both heads
                        arguments = call["function"]["arguments"]
                        for start in range(0, len(arguments), 5):
                            piece = {"arguments": arguments[start : start + 5]}
                            send({"tool_calls": [{"index": index, "function": piece}]})
                    send({}, "tool_calls")
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def __enter__(self) -> ToolUpstream:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def upstream_env(server: ToolUpstream, **extra: str) -> dict[str, str]:
    """A live site's environment that answers lukhas-matriz-1 through ``server``."""
    return {
        "LUKHAS_UPSTREAM_BASE_URL": server.base_url,
        "LUKHAS_UPSTREAM_MODEL_MAP": "lukhas-matriz-1=gpt-4o-mini",
        **extra,
    }

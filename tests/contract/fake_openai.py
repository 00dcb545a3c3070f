"""A tiny OpenAI-shaped HTTP server in a thread, for testing SDK-driven tools.

It is not the façade: it answers the few routes the eval runner and the
examples call, with the shapes the official SDK parses, so their client side
(SDK calls, streaming, raw calls to LUKHAS extensions, error envelopes) is
exercised over real HTTP before the façade exists. The live façade is tested
by ``make evals`` and the lead's example harness.
"""

from __future__ import annotations

import base64
import itertools
import json
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "lk-test_fake-openai-key"
MODELS = ("lukhas-matriz-1", "matriz-echo", "lukhas-embed-1")


def _error(status: int, message: str, code: str, param: str | None = None) -> tuple[int, dict]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return status, {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    users = [m for m in value or [] if m.get("role", "user") == "user"]
    content = users[-1].get("content", "") if users else ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return content


class FakeOpenAI:
    def __init__(self) -> None:
        self.indexes: dict[str, dict[str, Any]] = {}
        self.dreams: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self._ids = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    # -- answers ------------------------------------------------------------------

    def answer_text(self, body: dict[str, Any], text: str) -> str:
        if body.get("model") == "matriz-echo":
            return text
        names = str((body.get("metadata") or {}).get("indexes", "")).split(",")
        facts = [
            item["text"]
            for index in self.indexes.values()
            if index["name"] in names
            for item in index["items"]
        ]
        return " ".join(facts) or "I have no memories about that."

    def response_object(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self.answer_text(body, _text_of(body.get("input")))
        words = len(text.split())
        response = {
            "id": self.next_id("resp_"),
            "object": "response",
            "created_at": time.time(),
            "status": "completed",
            "model": body["model"],
            "metadata": body.get("metadata") or {},
            "output": [
                {
                    "id": self.next_id("msg_"),
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ],
            "usage": {"input_tokens": words, "output_tokens": words, "total_tokens": 2 * words},
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
        }
        self.responses[response["id"]] = response
        return response

    def chat_object(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self.answer_text(body, _text_of(body.get("messages")))
        return {
            "id": self.next_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = body.get("dimensions") or 8
        data = []
        for position, _ in enumerate(inputs):
            vector = [round(0.1 * (i + 1), 3) for i in range(dims)]
            if body.get("encoding_format") == "base64":
                packed = struct.pack(f"<{dims}f", *vector)
                embedding: Any = base64.b64encode(packed).decode()
            else:
                embedding = vector
            data.append({"object": "embedding", "index": position, "embedding": embedding})
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return {"object": "list", "model": body["model"], "data": data, "usage": usage}

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        parts = path.split("?")[0].strip("/").split("/")[1:]  # without "v1"
        if method == "GET" and parts == ["models"]:
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "lukhas"} for m in MODELS
            ]
            return 200, {"object": "list", "data": data}
        if method == "GET" and parts[:1] == ["models"] and len(parts) == 2:
            if parts[1] not in MODELS:
                return _error(404, f"The model {parts[1]} does not exist", "model_not_found")
            return 200, {"id": parts[1], "object": "model", "created": 0, "owned_by": "lukhas"}
        generating = parts[-1:] in (["responses"], ["completions"], ["embeddings"])
        if method == "POST" and generating and body.get("model") not in MODELS:
            return _error(404, f"The model {body.get('model')} does not exist", "model_not_found")
        if method == "POST" and parts == ["responses"]:
            if "input" not in body:
                return _error(400, "input is required", "invalid_value")
            unknown = set(body) - {"model", "input", "metadata", "stream", "instructions"}
            if unknown:
                name = sorted(unknown)[0]
                return _error(400, f"{name}: unknown parameter", "invalid_value", name)
            return 200, self.response_object(body)
        if method == "GET" and parts[:1] == ["responses"] and len(parts) == 2:
            found = self.responses.get(parts[1])
            return (200, found) if found else _error(404, "no such response", "not_found")
        if method == "POST" and parts == ["chat", "completions"]:
            return 200, self.chat_object(body)
        if method == "POST" and parts == ["embeddings"]:
            return 200, self.embeddings(body)
        if method == "GET" and parts == ["indexes"]:
            data = [{k: v for k, v in i.items() if k != "items"} for i in self.indexes.values()]
            return 200, {"object": "list", "data": data}
        if method == "POST" and parts == ["indexes"]:
            index = {"id": self.next_id("idx_"), "object": "index", "name": body["name"]}
            self.indexes[index["id"]] = {**index, "items": []}
            return 200, index
        if parts[:1] == ["indexes"] and len(parts) >= 2:
            index = self.indexes.get(parts[1])
            if index is None:
                return _error(404, "no such index", "index_not_found")
            if method == "POST" and parts[2:] == ["items"]:
                index["items"] += body["items"]
                return 200, {"object": "list", "data": body["items"]}
            if method == "GET" and len(parts) == 2:
                return 200, {k: v for k, v in index.items() if k != "items"} | {
                    "item_count": len(index["items"])
                }
            if method == "DELETE" and len(parts) == 2:
                del self.indexes[parts[1]]
                return 200, {"id": parts[1], "object": "index.deleted", "deleted": True}
        if method == "POST" and parts == ["dreams"]:
            dream = {
                "id": self.next_id("dream_"),
                "object": "dream",
                "status": "queued",
                "polls": 0,
            }
            self.dreams[dream["id"]] = dream
            return 200, {k: v for k, v in dream.items() if k != "polls"}
        if method == "GET" and parts[:1] == ["dreams"] and len(parts) == 2:
            dream = self.dreams[parts[1]]
            dream["polls"] += 1
            if dream["polls"] >= 2:
                dream.update(status="succeeded", narrative="A canary dreamt of latency.")
            return 200, {k: v for k, v in dream.items() if k != "polls"}
        return _error(404, f"Unknown route {method} {path}", "unknown_route")

    def stream_events(self, path: str, body: dict[str, Any]) -> list[bytes]:
        if path.endswith("/chat/completions"):
            done = self.chat_object({**body, "stream": False})
            text = done["choices"][0]["message"]["content"]
            base = {"id": done["id"], "object": "chat.completion.chunk", "created": 0}
            chunks = [{**base, "model": body["model"], "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ]}]  # fmt: skip
            for word in text.split(" "):
                chunks.append({**base, "model": body["model"], "choices": [
                    {"index": 0, "delta": {"content": word + " "}, "finish_reason": None}
                ]})  # fmt: skip
            chunks[-1]["choices"][0]["delta"]["content"] = text.split(" ")[-1]
            chunks.append({**base, "model": body["model"], "choices": [
                {"index": 0, "delta": {}, "finish_reason": "stop"}
            ]})  # fmt: skip
            if (body.get("stream_options") or {}).get("include_usage"):
                chunks.append(
                    {**base, "model": body["model"], "choices": [], "usage": done["usage"]}
                )
            return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
        # OpenAI's sequence; the SDK's responses.stream() helper needs every step of it.
        response = self.response_object({**body, "stream": False})
        message = response["output"][0]
        part = message["content"][0]
        text = part["text"]
        started = {**response, "status": "in_progress", "output": [], "usage": None}
        where = {"item_id": message["id"], "output_index": 0}
        events: list[tuple[str, dict[str, Any]]] = [
            ("response.created", {"response": started}),
            ("response.in_progress", {"response": started}),
            (
                "response.output_item.added",
                {"output_index": 0, "item": {**message, "status": "in_progress", "content": []}},
            ),
            (
                "response.content_part.added",
                {**where, "content_index": 0, "part": {**part, "text": ""}},
            ),
        ]
        words = text.split(" ")
        for position, word in enumerate(words):
            delta = word if position == len(words) - 1 else word + " "
            events.append(
                ("response.output_text.delta", {**where, "content_index": 0, "delta": delta})
            )
        events += [
            ("response.output_text.done", {**where, "content_index": 0, "text": text}),
            ("response.content_part.done", {**where, "content_index": 0, "part": part}),
            ("response.output_item.done", {"output_index": 0, "item": message}),
            ("response.completed", {"response": response}),
        ]
        out = [b": keep-alive\n\n"]
        for number, (kind, payload) in enumerate(events):
            data = json.dumps({"type": kind, "sequence_number": number, **payload})
            out.append(f"event: {kind}\ndata: {data}\n\n".encode())
        return out

    # -- HTTP ---------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, payload: Any) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                fake.requests.append((self.command, self.path, body))
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._send(*_error(401, "Missing or invalid API key.", "invalid_api_key"))
                    return
                if isinstance(body, dict) and body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for event in fake.stream_events(self.path, body):
                        self.wfile.write(event)
                        self.wfile.flush()
                    return
                self._send(*fake.route(self.command, self.path, body))

            do_GET = do_POST = do_DELETE = _handle

        return Handler

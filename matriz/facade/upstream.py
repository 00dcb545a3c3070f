"""The optional upstream model: an OpenAI-compatible server the action step may ask.

With ``LUKHAS_UPSTREAM_BASE_URL`` set, a model of ``LUKHAS_UPSTREAM_MODEL_MAP``
(``lukhas-matriz-1=gpt-4o-mini``) is answered by that server's
``/chat/completions`` (streams passed through as they come). Each upstream
model is a node the engine knows: its circuit breaker is made by the
process's pipeline (:meth:`Orchestrator.external_breaker`), so it reports
``matriz_breaker_state{node="upstream:<model>"}`` and is listed by
/system/plugins, with the local action node as its fallback. Any failure —
refused by the breaker, connection error, a non-2xx status, a malformed
answer — raises :class:`UpstreamFailed` before the first delta, so the
caller can answer locally and say so in the reasoning chain.

One pooled ``httpx.AsyncClient`` per process (per event loop: under uvicorn
that is one) keeps connections to the upstream alive between requests.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from matriz import runtime
from matriz.engine import BreakerConfig, CircuitBreaker, Stage
from matriz.facade.tools import ToolCallDelta, deltas_of

UPSTREAM_NODE_PREFIX = "upstream:"


class UpstreamFailed(Exception):
    pass


class ScoredText(str):
    """A piece of the upstream's text with the token log probabilities it sent for it.

    A ``str``, so everything that joins or counts the answer's text takes it
    as is; ``logprobs`` is the list of ``choices[].logprobs.content`` entries
    (token, logprob, bytes, top_logprobs) the upstream gave with the piece.
    """

    logprobs: list[dict[str, Any]]

    def __new__(cls, text: str, logprobs: list[dict[str, Any]]) -> ScoredText:
        piece = super().__new__(cls, text)
        piece.logprobs = logprobs
        return piece


def _scored(text: str, choice: dict[str, Any]) -> str:
    """The text, carrying its log probabilities when the upstream sent some."""
    content = (choice.get("logprobs") or {}).get("content")
    return ScoredText(text, list(content)) if isinstance(content, list) else text


def upstream_model_for(model: str) -> str | None:
    """The upstream model that answers ``model`` here, or None (answered locally)."""
    if not settings.FACADE_UPSTREAM_BASE_URL:
        return None
    mapped = settings.FACADE_UPSTREAM_MODEL_MAP.get(model)
    if mapped:
        return mapped
    if model in settings.FACADE_UPSTREAM_MODEL_MAP.values():
        return model
    return None


def node_name(upstream_model: str) -> str:
    return f"{UPSTREAM_NODE_PREFIX}{upstream_model}"


def breaker_for(upstream_model: str) -> CircuitBreaker:
    """The upstream model's breaker, registered with this process's pipeline."""
    orchestrator = runtime.get_runtime().orchestrator()
    action_nodes = orchestrator.specs[Stage.ACTION].nodes
    return orchestrator.external_breaker(
        node_name(upstream_model),
        BreakerConfig(
            failure_rate_threshold=settings.MATRIZ_BREAKER_FAILURE_RATE,
            sliding_window_size=settings.MATRIZ_BREAKER_WINDOW,
            minimum_number_of_calls=settings.MATRIZ_BREAKER_MIN_CALLS,
            wait_duration_in_open_s=settings.MATRIZ_BREAKER_OPEN_SECONDS,
            slow_call_duration_s=max(1.0, settings.FACADE_UPSTREAM_TIMEOUT_SECONDS),
        ),
        fallback=action_nodes[0] if action_nodes else None,
    )


class _ClientPool:
    """One ``httpx.AsyncClient`` for the process's event loop.

    A client's pooled connections belong to the loop that opened them, so a
    new loop (a test's ``async_to_sync``) gets a new client; under uvicorn
    there is one loop per process, hence one client.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._client is None or self._loop is not loop or self._client.is_closed:
                self._client = httpx.AsyncClient(
                    limits=httpx.Limits(max_connections=100, max_keepalive_connections=20)
                )
                self._loop = loop
            return self._client

    async def aclose(self) -> None:
        with self._lock:
            client, self._client, self._loop = self._client, None, None
        if client is not None:
            await client.aclose()


clients = _ClientPool()


@dataclass(slots=True)
class UpstreamCall:
    """One streamed call; ``finish_reason`` and ``usage`` are known when it is drained."""

    model: str
    messages: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    breaker: CircuitBreaker | None = None  # default: the model's, from the pipeline
    finish_reason: str = "stop"
    usage: dict[str, Any] | None = None

    def _request(self) -> tuple[str, dict[str, str], dict[str, Any]]:
        url = f"{settings.FACADE_UPSTREAM_BASE_URL}/chat/completions"
        headers = {"Content-Type": "application/json"}
        if settings.FACADE_UPSTREAM_API_KEY:
            headers["Authorization"] = f"Bearer {settings.FACADE_UPSTREAM_API_KEY}"
        body = {
            **{k: v for k, v in self.options.items() if v is not None},
            "model": self.model,
            "messages": self.messages,
            "stream": True,
        }
        return url, headers, body

    async def deltas(self) -> AsyncIterator[str | ToolCallDelta]:
        """The answer's text and tool-call pieces as they come (indexes and ids as sent).

        Raises UpstreamFailed if nothing usable came.
        """
        breaker = self.breaker if self.breaker is not None else breaker_for(self.model)
        if not breaker.acquire_permission():
            raise UpstreamFailed(f"circuit breaker {breaker.name!r} is open")
        started = time.perf_counter()
        produced = False
        url, headers, body = self._request()
        try:
            timeout = httpx.Timeout(settings.FACADE_UPSTREAM_TIMEOUT_SECONDS)
            client = clients.get()
            async with client.stream(
                "POST", url, headers=headers, json=body, timeout=timeout
            ) as response:
                if response.status_code >= 300:
                    raise UpstreamFailed(f"upstream answered HTTP {response.status_code}")
                async for delta in self._parse(response):
                    produced = True
                    yield delta
        except UpstreamFailed:
            breaker.record_failure(time.perf_counter() - started)
            raise
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            breaker.record_failure(time.perf_counter() - started)
            if produced:
                raise
            raise UpstreamFailed(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            breaker.release_permission()
            raise
        breaker.record_success(time.perf_counter() - started)

    async def _parse(self, response: httpx.Response) -> AsyncIterator[str | ToolCallDelta]:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            # A server that ignored stream=true: one JSON completion.
            payload = json.loads(await response.aread())
            choice = payload["choices"][0]
            self.finish_reason = choice.get("finish_reason") or "stop"
            self.usage = payload.get("usage")
            text = choice["message"].get("content") or ""
            if text:
                yield _scored(text, choice)
            for index, call in enumerate(choice["message"].get("tool_calls") or []):
                for piece in deltas_of(call, index):
                    yield piece
            return
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            chunk = json.loads(data)
            if "error" in chunk:
                raise UpstreamFailed(f"upstream stream error: {chunk['error']}")
            if chunk.get("usage"):
                self.usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                if choice.get("finish_reason"):
                    self.finish_reason = choice["finish_reason"]
                delta = choice.get("delta") or {}
                text = delta.get("content")
                if text:
                    yield _scored(text, choice)
                for call in delta.get("tool_calls") or []:
                    function = call.get("function") or {}
                    yield ToolCallDelta(
                        int(call.get("index", 0)),
                        id=call.get("id"),
                        name=function.get("name"),
                        arguments=function.get("arguments") or "",
                    )

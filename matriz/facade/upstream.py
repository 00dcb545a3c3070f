"""The optional upstream model: an OpenAI-compatible server the action step may ask.

With ``LUKHAS_UPSTREAM_BASE_URL`` set, a model of ``LUKHAS_UPSTREAM_MODEL_MAP``
(``lukhas-matriz-1=gpt-4o-mini``) is answered by that server's
``/chat/completions`` (streams passed through as they come), behind one
circuit breaker per upstream model. Any failure — refused by the breaker,
connection error, a non-2xx status, a malformed answer — raises
:class:`UpstreamFailed` before the first delta, so the caller can answer
locally and say so in the reasoning chain.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from matriz.engine.breaker import BreakerConfig, CircuitBreaker

_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


class UpstreamFailed(Exception):
    pass


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


def breaker_for(upstream_model: str) -> CircuitBreaker:
    name = f"upstream:{upstream_model}"
    with _breakers_lock:
        breaker = _breakers.get(name)
        if breaker is None:
            breaker = CircuitBreaker(
                name,
                BreakerConfig(
                    failure_rate_threshold=settings.MATRIZ_BREAKER_FAILURE_RATE,
                    sliding_window_size=settings.MATRIZ_BREAKER_WINDOW,
                    minimum_number_of_calls=settings.MATRIZ_BREAKER_MIN_CALLS,
                    wait_duration_in_open_s=settings.MATRIZ_BREAKER_OPEN_SECONDS,
                    slow_call_duration_s=max(1.0, settings.FACADE_UPSTREAM_TIMEOUT_SECONDS),
                ),
            )
            _breakers[name] = breaker
        return breaker


def reset_breakers() -> None:
    with _breakers_lock:
        _breakers.clear()


@dataclass(slots=True)
class UpstreamCall:
    """One streamed call; ``finish_reason`` and ``usage`` are known when it is drained."""

    model: str
    messages: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
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

    async def deltas(self) -> AsyncIterator[str]:
        """The answer's text as it comes. Raises UpstreamFailed if nothing usable came."""
        breaker = breaker_for(self.model)
        if not breaker.acquire_permission():
            raise UpstreamFailed(f"circuit breaker {breaker.name!r} is open")
        started = time.perf_counter()
        produced = False
        url, headers, body = self._request()
        try:
            timeout = httpx.Timeout(settings.FACADE_UPSTREAM_TIMEOUT_SECONDS)
            async with (
                httpx.AsyncClient(timeout=timeout) as client,
                client.stream("POST", url, headers=headers, json=body) as response,
            ):
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

    async def _parse(self, response: httpx.Response) -> AsyncIterator[str]:
        if "text/event-stream" not in response.headers.get("content-type", ""):
            # A server that ignored stream=true: one JSON completion.
            payload = json.loads(await response.aread())
            choice = payload["choices"][0]
            self.finish_reason = choice.get("finish_reason") or "stop"
            self.usage = payload.get("usage")
            text = choice["message"].get("content") or ""
            if text:
                yield text
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
                text = (choice.get("delta") or {}).get("content")
                if text:
                    yield text

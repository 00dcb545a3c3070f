"""What the /v1 façade costs through the whole stack (live uvicorn, a real key).

``run()`` returns rows ``name, value, unit, baseline_name, baseline_value,
ratio, budget, ok``:

(a) requests/s of non-streaming ``matriz-echo`` chat completions against
    ``GET /healthz`` of the same server (a bare view: the floor of the stack);
(b) p50 and p95 latency of those completions against /healthz's;
(c) time to the first byte of a ``matriz-echo`` chat stream.

A throwaway server (evals.server.LocalServer: its own SQLite, its own key)
is started and stopped; sequential requests over one keep-alive connection,
so the figures are per-request costs, not a load test. Stays under 60 s.

    python benchmarks/bench_facade.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.rows import row

REQUESTS = 200
CHAT = {"model": "matriz-echo", "messages": [{"role": "user", "content": "benchmark ping"}]}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(send: Any, n: int) -> tuple[float, list[float]]:
    samples = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        response = send()
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
    return n / (time.perf_counter() - started), samples


def run() -> list[dict[str, Any]]:
    import httpx

    from evals.server import LocalServer

    with LocalServer() as server:
        root = server.base_url.removesuffix("/v1")
        headers = {"Authorization": f"Bearer {server.api_key}"}
        with httpx.Client(timeout=30) as http:

            def chat() -> httpx.Response:
                url = f"{server.base_url}/chat/completions"
                return http.post(url, json=CHAT, headers=headers)

            def health() -> httpx.Response:
                return http.get(f"{root}/healthz")

            timed(chat, 20)  # warm: URL loading, policy, the key cache
            timed(health, 20)
            chat_rps, chat_ms = timed(chat, REQUESTS)
            health_rps, health_ms = timed(health, REQUESTS)
            ttfb = []
            for _ in range(20):
                t0 = time.perf_counter()
                with http.stream(
                    "POST",
                    f"{server.base_url}/chat/completions",
                    json={**CHAT, "stream": True},
                    headers=headers,
                ) as response:
                    chunks = response.iter_raw()
                    next(chunks)
                    ttfb.append((time.perf_counter() - t0) * 1000)
                    for _chunk in chunks:
                        pass
    p50, p95 = percentile(chat_ms, 0.5), percentile(chat_ms, 0.95)
    h50, h95 = percentile(health_ms, 0.5), percentile(health_ms, 0.95)
    ttfb_p50 = statistics.median(ttfb)
    return [
        row("facade_chat_echo_rps", chat_rps, "req/s", "healthz_rps", health_rps,
            ">= 20 req/s", chat_rps >= 20),
        row("facade_chat_echo_p50", p50, "ms", "healthz_p50", h50, "<= 50 ms", p50 <= 50),
        row("facade_chat_echo_p95", p95, "ms", "healthz_p95", h95, "<= 100 ms", p95 <= 100),
        row("facade_chat_stream_ttfb_p50", ttfb_p50, "ms", "facade_chat_echo_p50", p50,
            "<= 100 ms", ttfb_p50 <= 100),
    ]  # fmt: skip


if __name__ == "__main__":
    for result in run():
        print(result)

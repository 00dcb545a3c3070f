"""What the observability middleware (request ids, trace ids, metrics, access log) costs."""

from __future__ import annotations

import os
import statistics
import tempfile
import time


def _setup() -> None:
    os.environ.setdefault("LUKHAS_VAR_DIR", tempfile.mkdtemp(prefix="lukhas-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lukhas_site.settings")
    os.environ["LUKHAS_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def _median_us(client, path: str, n: int) -> float:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(path)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


def run() -> list[dict]:
    _setup()
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    bare_middleware = [
        m for m in settings.MIDDLEWARE if not m.startswith(("lukhas_site.", "opentelemetry."))
    ]
    n = 3000
    full = Client()
    _median_us(full, "/healthz", 200)  # warm up
    with_stack = _median_us(full, "/healthz", n)
    with override_settings(MIDDLEWARE=bare_middleware):
        bare = Client()
        _median_us(bare, "/healthz", 200)
        without = _median_us(bare, "/healthz", n)
    ratio = with_stack / without
    return [
        {
            "name": "GET /healthz with request-id, trace and metrics middleware (median)",
            "value": with_stack,
            "unit": "µs",
            "baseline_name": "same request, Django's middleware only",
            "baseline_value": without,
            "ratio": ratio,
            "budget": "ratio ≤ 3 (observability is not free, but it is cheap)",
            "ok": ratio <= 3,
        },
        {
            "name": "observability cost per request (median difference)",
            "value": with_stack - without,
            "unit": "µs",
            "baseline_name": "",
            "baseline_value": None,
            "ratio": None,
            "budget": "≤ 500 µs",
            "ok": (with_stack - without) <= 500,
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)

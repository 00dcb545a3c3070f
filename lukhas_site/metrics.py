"""Prometheus collectors of the site, defined once.

Labels are bounded: a route template (``api/tasks/<int:pk>``), never a raw
path or id; a status class (``2xx``), never a raw code. With
``PROMETHEUS_MULTIPROC_DIR`` set, every process (uvicorn workers, Celery
worker children) writes its own files there and ``/metrics`` merges them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess
from prometheus_client.registry import Collector

# Web requests are mostly sub-10 ms; the client's defaults start at 5 ms and
# would hide the whole fast path in the first bucket.
HTTP_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
TASK_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0)

http_requests_total = Counter(
    "lukhas_http_requests_total",
    "HTTP requests handled, by route template, method and status class.",
    ["route", "method", "status"],
)
http_request_duration_seconds = Histogram(
    "lukhas_http_request_duration_seconds",
    "Time to produce the response (first byte for streams).",
    ["route", "method", "status"],
    buckets=HTTP_BUCKETS,
)
celery_tasks_total = Counter(
    "lukhas_celery_tasks_total",
    "Celery tasks finished, by task name and outcome.",
    ["task", "outcome"],
)
celery_task_duration_seconds = Histogram(
    "lukhas_celery_task_duration_seconds",
    "Celery task run time, by task name.",
    ["task"],
    buckets=TASK_BUCKETS,
)
celery_task_failures_total = Counter(
    "lukhas_celery_task_failures_total",
    "Celery tasks that raised, by task name and exception type.",
    ["task", "exception"],
)

# The /v1 latency SLOs (configs/observability/slo_budgets.yaml) need what the
# route histogram above mixes: a whole non-streamed answer, and a stream's
# first body byte (the route histogram stops at the stream's headers).
v1_answer_duration_seconds = Histogram(
    "lukhas_v1_answer_duration_seconds",
    "Time to the whole answer of a non-streamed /v1 request, by route template.",
    ["route"],
    buckets=HTTP_BUCKETS,
)
v1_stream_first_byte_seconds = Histogram(
    "lukhas_v1_stream_first_byte_seconds",
    "Time from a streamed /v1 request to the first byte of its body, by route template.",
    ["route"],
    buckets=HTTP_BUCKETS,
)

# The database pool of each process (PostgreSQL with LUKHAS_DB_POOL): sampled
# at the end of every request. livesum: the sum over the live processes of a
# machine is what counts against PostgreSQL's max_connections.
db_pool_max = Gauge(
    "lukhas_db_pool_max",
    "Largest number of connections the pools may open (LUKHAS_DB_POOL_MAX per process).",
    multiprocess_mode="livesum",
)
db_pool_size = Gauge(
    "lukhas_db_pool_size",
    "Connections the pools hold open to PostgreSQL (in use or idle).",
    multiprocess_mode="livesum",
)
db_pool_available = Gauge(
    "lukhas_db_pool_available",
    "Idle connections ready in the pools.",
    multiprocess_mode="livesum",
)
db_pool_waiting = Gauge(
    "lukhas_db_pool_waiting",
    "Requests queued for a connection.",
    multiprocess_mode="livesum",
)
db_pool_timeouts_total = Counter(
    "lukhas_db_pool_timeouts_total",
    "Requests that found no pooled connection within LUKHAS_DB_POOL_TIMEOUT (answered 503).",
)
db_unavailable_total = Counter(
    "lukhas_db_unavailable_total",
    "Requests answered 503 because the database had no connection to spare, by reason "
    "(pool_timeout, pool_queue_full, server_full).",
    ["reason"],
)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# Collectors that read their figures at scrape time (from the database, say):
# one per process serves them, so they are added to the per-scrape registry
# in multi-process mode instead of being summed across process files.
_SCRAPE_COLLECTORS: list[Collector] = []


def register_scrape_collector(collector: Collector) -> None:
    """Serve ``collector`` on /metrics in both modes (once, however often it is called)."""
    if any(type(known) is type(collector) for known in _SCRAPE_COLLECTORS):
        return
    _SCRAPE_COLLECTORS.append(collector)
    if not multiprocess_dir():
        REGISTRY.register(collector)


def render_latest(names: Iterable[str] | None = None) -> tuple[bytes, str]:
    """The exposition text of every process of this machine (or of this one).

    ``names`` (sample names, suffixes included) keeps a page that reads a few
    of its own series from running every scrape collector: those query the
    database, and a page of one app has no business paying for the others.
    """
    wanted = None if names is None else set(names)
    if multiprocess_dir():
        registry = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(registry)
        if wanted is None:
            for collector in _SCRAPE_COLLECTORS:
                registry.register(collector)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    if wanted is not None:
        return generate_latest(REGISTRY.restricted_registry(wanted)), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay: totals must not go down)."""
    if multiprocess_dir():
        prom_multiprocess.mark_process_dead(pid)

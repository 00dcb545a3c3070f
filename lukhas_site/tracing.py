"""OpenTelemetry set-up from the standard ``OTEL_*`` environment variables.

Spans are always recorded (so every response and log line has a trace id);
where they go is ``OTEL_TRACES_EXPORTER``: ``otlp``, ``console`` or ``none``.
When it is unset we export over OTLP only if an OTLP endpoint is configured,
so a laptop without a collector does not log connection errors forever.
"""

from __future__ import annotations

import logging
import os
import threading

from django.core.exceptions import ImproperlyConfigured
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_provider: TracerProvider | None = None
_instrumented = False


def _exporter_names() -> list[str]:
    raw = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not raw:
        has_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        )
        return ["otlp"] if has_endpoint else []
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = set(names) - {"otlp", "console", "none"}
    if unknown:
        raise ImproperlyConfigured(
            f"OTEL_TRACES_EXPORTER={raw!r}: unknown exporter {sorted(unknown)} "
            "(use otlp, console or none)"
        )
    return [name for name in names if name != "none"]


def _otlp_exporter():  # noqa: ANN202 - the two exporters share no public base
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    )
    # Each exporter pulls in its transport (grpcio, or protobuf over HTTP):
    # imported only for the protocol a deployment chose.
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ImproperlyConfigured(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported (grpc or http/protobuf)"
    )


def configure_tracing() -> TracerProvider | None:
    """Install the process's tracer provider once; later calls return it."""
    global _provider
    with _lock:
        if _provider is not None:
            return _provider
        if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return None
        os.environ.setdefault("OTEL_SERVICE_NAME", "lukhas-ops")
        # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES;
        # TracerProvider reads OTEL_TRACES_SAMPLER(_ARG).
        provider = TracerProvider(resource=Resource.create())
        for name in _exporter_names():
            exporter = _otlp_exporter() if name == "otlp" else ConsoleSpanExporter()
            # BatchSpanProcessor re-creates its thread after fork, so Celery's
            # prefork children keep exporting.
            provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _provider = provider
        return provider


def add_span_processor(processor: SpanProcessor) -> None:
    """Attach another processor (tests attach an in-memory exporter here)."""
    provider = configure_tracing()
    if provider is None:
        raise RuntimeError("tracing is disabled (OTEL_SDK_DISABLED=true)")
    provider.add_span_processor(processor)


def instrument() -> None:
    """Instrument Django, Celery and redis-py once per process."""
    global _instrumented
    if _instrumented or configure_tracing() is None:
        return
    # Instrumentors patch libraries when imported; only a process that traces pays.
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    DjangoInstrumentor().instrument(is_sql_commentor_enabled=False)
    CeleryInstrumentor().instrument()
    RedisInstrumentor().instrument()
    _instrumented = True

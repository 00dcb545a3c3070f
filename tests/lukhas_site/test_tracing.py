"""Traces: Django, Celery and Redis spans, ids in responses, exporters from OTEL_* vars."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from lukhas_site import tracing
from tests.services import REPO

_exporter = InMemorySpanExporter()
_installed = False


@pytest.fixture
def spans():
    global _installed
    if not _installed:
        tracing.add_span_processor(SimpleSpanProcessor(_exporter))
        _installed = True
    _exporter.clear()
    yield _exporter
    _exporter.clear()


@pytest.mark.django_db
def test_it_traces_requests_and_returns_the_trace_id(client, spans):
    response = client.get("/healthz")
    server = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert len(server) == 1
    span = server[0]
    assert response["X-Trace-ID"] == format(span.context.trace_id, "032x")
    assert span.attributes.get("http.route") == "healthz"
    # Headers are not recorded as span attributes: no Authorization in traces.
    assert not any("authorization" in key.lower() for key in span.attributes)


@pytest.mark.django_db
def test_it_traces_celery_tasks(spans, settings):
    from lukhas_site.tasks import echo

    echo.apply(args=("traced",))
    names = [s.name for s in spans.get_finished_spans()]
    assert any("lukhas.echo" in name for name in names), names


@pytest.mark.integration
@pytest.mark.django_db
def test_it_traces_redis_commands(spans, settings):
    from django.core.cache import cache

    assert settings.REDIS_URL
    cache.set("lukhas:test:traced", "1", timeout=5)
    redis_spans = [
        s for s in spans.get_finished_spans() if s.attributes.get("db.system") == "redis"
    ]
    assert redis_spans, [s.name for s in spans.get_finished_spans()]


def _run_with(exporter: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OTEL_TRACES_EXPORTER": exporter, "LUKHAS_LOG_LEVEL": "WARNING"}
    code = (
        "import django; django.setup()\n"
        "from opentelemetry import trace\n"
        "with trace.get_tracer('t').start_as_current_span('exported-span'): pass\n"
        "trace.get_tracer_provider().shutdown()\n"
    )
    env["DJANGO_SETTINGS_MODULE"] = "lukhas_site.settings"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )


def test_it_exports_to_the_console_when_asked():
    result = _run_with("console")
    assert result.returncode == 0, result.stderr
    assert '"name": "exported-span"' in result.stdout


def test_it_exports_nothing_with_none():
    result = _run_with("none")
    assert result.returncode == 0, result.stderr
    assert "exported-span" not in result.stdout


def test_it_names_an_unknown_exporter():
    result = _run_with("zipkin-please")
    assert result.returncode != 0
    assert "OTEL_TRACES_EXPORTER" in result.stderr
    assert "zipkin-please" in result.stderr

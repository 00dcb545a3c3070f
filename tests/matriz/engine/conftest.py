"""Fixtures of the engine tests: captured spans, fresh registries, small stores.

The global OpenTelemetry tracer provider can be set only once per process, so
it is set here at import time (or, if something else already installed an SDK
provider, our exporter is attached to that one). Each test that looks at spans
clears the exporter first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from matriz.engine.memory import MemoryStore
from matriz.engine.metrics import NullRecorder
from tests.matriz.engine.helpers import make_store

SPAN_EXPORTER = InMemorySpanExporter()


def _install_span_capture() -> None:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "could not install an SDK tracer provider"
    provider.add_span_processor(SimpleSpanProcessor(SPAN_EXPORTER))


_install_span_capture()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    SPAN_EXPORTER.clear()
    yield SPAN_EXPORTER
    SPAN_EXPORTER.clear()


@pytest.fixture
def null_recorder() -> NullRecorder:
    return NullRecorder()


@pytest.fixture
def store() -> MemoryStore:
    return make_store()


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> None:
    """Shadow tests/conftest.py's autouse fixture of the same name.

    That one needs pytest-django's ``settings``; the engine is pure Python, hashes
    no password, and its tests must run with ``-p no:django`` (no settings module).
    """

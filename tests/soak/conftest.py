"""Soak fixtures: a gates file of the test's own, artifacts under tmp_path."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

# Gates whose sources need no network: the run's figures, alerts, tasks.
LOCAL_GATES = """
version: "t1"
gates:
  - id: soak-hours
    title: hours
    source: soak
    key: hours_covered
    comparator: ">="
    threshold: 48
  - id: no-page-alerts
    title: no page alerts
    source: alerts
    comparator: "=="
    threshold: 0
    severity: critical
"""


@pytest.fixture
def gates_file(settings, tmp_path: Path) -> Callable[[str], Path]:
    """Write a gates file and point the site at it; returns its path."""

    def write(text: str = LOCAL_GATES) -> Path:
        path = tmp_path / "gates.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        settings.SOAK_GATES_FILE = str(path)
        return path

    write()
    return write


@pytest.fixture(autouse=True)
def soak_dirs(settings, tmp_path: Path) -> Path:
    settings.SOAK_ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.SOAK_HEALTH_DIR = str(tmp_path / "audits")
    settings.SOAK_PROMETHEUS_URL = ""
    settings.SOAK_GRAFANA_URL = ""
    settings.SOAK_WEBHOOK_URL = ""
    settings.SOAK_SNAPSHOT_SECONDS = 3600.0
    settings.SOAK_SAMPLE_SECONDS = 60.0
    # Nothing listens on the discard port: a test never soaks another helper's site.
    settings.SOAK_SELF_URL = "http://127.0.0.1:9"
    return tmp_path

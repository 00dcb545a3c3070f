"""The shipped Grafana dashboards and Prometheus rules query metrics that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.utils.module_loading import autodiscover_modules
from prometheus_client import REGISTRY

from tests.services import REPO

OPS = REPO / "ops"
METRIC_NAME = re.compile(r"\b((?:lukhas|matriz)_[a-z0-9_]+)")
SUFFIXES = ("", "_total", "_bucket", "_count", "_sum", "_created")


@pytest.fixture(scope="module")
def exported_names() -> set[str]:
    autodiscover_modules("metrics")  # every app's metrics.py registers its collectors
    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES)
    return names


def _rule_files() -> list[Path]:
    return sorted((OPS / "prometheus" / "rules").glob("*.yml"))


def _dashboards() -> list[Path]:
    return sorted((OPS / "grafana" / "dashboards").glob("*.json"))


def test_it_ships_rules_and_dashboards():
    assert _rule_files()
    assert _dashboards()
    config = yaml.safe_load((OPS / "prometheus" / "prometheus.yml").read_text())
    assert config["scrape_configs"][0]["metrics_path"] == "/metrics"


@pytest.mark.parametrize("path", _rule_files(), ids=lambda p: p.name)
def test_it_writes_alert_rules_prometheus_can_load(path, exported_names):
    document = yaml.safe_load(path.read_text())
    for group in document["groups"]:
        assert group["name"]
        for rule in group["rules"]:
            # Alerts, and the SLO recording rules (ops/prometheus/rules/slo.yml).
            what = rule.get("alert") or rule.get("record")
            assert what and rule["expr"], rule
            if "alert" in rule:
                assert rule["labels"]["severity"] in {"page", "ticket"}
                assert rule["annotations"]["summary"]
            for name in METRIC_NAME.findall(rule["expr"]):
                assert name in exported_names, f"{path.name}: {what} queries {name}"


# The dashboards' checks (valid JSON, datasource, variables, metric names, PromQL)
# are in tests/ops/test_dashboards.py.

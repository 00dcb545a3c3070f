"""Every shipped Grafana dashboard is valid, provisioned, and queries series that exist.

Static: no Prometheus is started (tests/ops/test_live_panels.py runs the same
queries against one). Each dashboard has a unique uid, a schemaVersion, the
``datasource`` variable that every panel and target names by uid, only
variables it defines, and panels whose targets all have an expression.
Every metric name is exported by the site (the registry after every app's
metrics module is imported); every ``slo:`` series is recorded by a rule
file under ops/prometheus/rules/ (skipped, saying "waiting for rules", while
no rule file records ``slo:`` series). promtool parses every expression.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter

import pytest
import yaml
from django.utils.module_loading import autodiscover_modules
from prometheus_client import REGISTRY

from lukhas_site import metrics as site_metrics
from tests.ops import dashboards as ops

METRIC_NAME = re.compile(r"\b((?:lukhas|matriz)_[a-z0-9_]+)")
SUFFIXES = ("", "_total", "_bucket", "_count", "_sum", "_created")
# The six shipped dashboards (issue 14 item 5): a file that goes missing fails here.
EXPECTED = {"lukhas-site", "matriz", "guardian", "slo", "soak", "coordination"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@pytest.fixture(scope="module")
def exported_names() -> set[str]:
    autodiscover_modules("metrics")  # every app's metrics.py registers its collectors
    names = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SUFFIXES)
    # Scrape-time collectors read the database, which this test has not: their
    # describe() names the families they serve.
    for collector in site_metrics._SCRAPE_COLLECTORS:
        names.update(family.name for family in collector.describe())
    return names


def _files():
    return ops.dashboard_files()


def test_it_ships_every_dashboard_with_a_unique_uid():
    assert {path.stem for path in _files()} >= EXPECTED
    uids = Counter(ops.load(path)["uid"] for path in _files())
    assert all(uids.values()) and max(uids.values()) == 1, uids
    titles = Counter(ops.load(path)["title"] for path in _files())
    assert max(titles.values()) == 1, titles


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_it_writes_a_valid_dashboard(path):
    dashboard = ops.load(path)
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", dashboard["uid"])  # Grafana's uid limit
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    variables = ops.variables_of(dashboard)
    source = variables.get("datasource")
    assert source and source["type"] == "datasource" and source["query"] == "prometheus"
    panels = ops.panels_of(dashboard)
    assert panels
    ids = Counter(panel["id"] for panel in panels)
    assert max(ids.values()) == 1, f"{path.name}: panel ids repeat: {ids}"
    for panel in panels:
        where = f"{path.name} > {panel['title']}"
        assert panel.get("datasource") == DATASOURCE, where
        assert panel.get("description"), f"{where}: say what the panel shows (docs/ops/README.md)"
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]), where
        assert panel.get("targets"), f"{where}: no targets"
        refs = [t.get("refId") for t in panel["targets"]]
        assert len(set(refs)) == len(refs) and all(refs), f"{where}: refIds {refs}"
        for target in panel["targets"]:
            assert target.get("expr", "").strip(), f"{where}: a target without expr"
            assert target.get("datasource") == DATASOURCE, where
            for name in ops.used_variables(target["expr"]):
                assert name in ops.GRAFANA_BUILTINS or name in variables, (
                    f"{where}: ${name} is neither a Grafana variable nor the dashboard's"
                )
    for name, variable in variables.items():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, f"{path.name}: variable {name}"


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_it_queries_metrics_the_site_exports(path, exported_names):
    dashboard = ops.load(path)
    for panel in ops.panels_of(dashboard):
        for target in panel["targets"]:
            expr = target["expr"]
            names = METRIC_NAME.findall(expr)
            assert names or ops.SLO_SERIES.search(expr), f"{path.name} > {panel['title']}: {expr}"
            for name in names:
                assert name in exported_names, f"{path.name} > {panel['title']} queries {name}"
    for variable in ops.variables_of(dashboard).values():
        if variable["type"] == "query":
            for name in METRIC_NAME.findall(variable["query"]["query"]):
                assert name in exported_names, f"{path.name}: variable {variable['name']}"


def test_it_queries_only_slo_series_the_rules_record():
    used = {
        (query.name, name)
        for query in ops.panel_queries()
        for name in ops.SLO_SERIES.findall(query.expr)
    }
    assert used, "the SLO dashboard queries slo: series"
    if not ops.slo_rules_exist():
        pytest.skip(f"waiting for rules: no file under {ops.RULES} records slo: series yet")
    recorded = ops.recorded_series()
    missing = sorted(f"{where}: {name}" for where, name in used if name not in recorded)
    assert not missing, "not recorded by any rule file:\n" + "\n".join(missing)


def test_it_writes_promql_that_prometheus_parses(prometheus_bin, tmp_path):
    """promtool parses each substituted expression as a recording rule: a typo fails here."""
    queries = ops.panel_queries()
    rules = [{"record": f"panel:check_{n}", "expr": q.promql} for n, q in enumerate(queries)]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    checked = subprocess.run(
        [prometheus_bin.promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if checked.returncode != 0:
        numbers = {
            int(n) for n in re.findall(r"panel:check_(\d+)", checked.stdout + checked.stderr)
        }
        named = [queries[n].name for n in sorted(numbers)]
        pytest.fail(f"promtool refused {named or 'the panels'}:\n{checked.stdout}{checked.stderr}")
    assert f"{len(rules)} rules found" in checked.stdout


def test_it_provisions_the_dashboards_folder():
    provisioning = yaml.safe_load((ops.OPS / "grafana" / "provisioning.yml").read_text())
    assert provisioning["apiVersion"] == 1
    [provider] = provisioning["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    assert provider.get("allowUiUpdates") is False  # the files are the source of truth
    sources = yaml.safe_load((ops.OPS / "grafana" / "datasources.yml").read_text())
    [prometheus] = sources["datasources"]
    assert prometheus["type"] == "prometheus" and prometheus["uid"] and prometheus["isDefault"]

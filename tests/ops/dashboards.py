"""The shipped dashboards and rules as data: every panel query, ready to send to Prometheus.

Shared by the static checks (tests/ops/test_dashboards.py) and the live proof
(tests/ops/test_live_panels.py), so both walk exactly the same queries.
Grafana's own variables are replaced by what Grafana would send for a short
range (``$__rate_interval`` → ``1m``); a dashboard's template variables by
their "All" value (``.*``), which is how every dashboard opens.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.services import REPO

OPS = REPO / "ops"
DASHBOARDS = OPS / "grafana" / "dashboards"
RULES = OPS / "prometheus" / "rules"

# What Grafana substitutes for its built-in variables, for a short range at a
# 1 s scrape interval (a rate needs at least two samples in its window).
GRAFANA_BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
    "__range_s": "300",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
SLO_SERIES = re.compile(r"\b(slo:[a-zA-Z0-9_:]+)")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str  # file name
    panel: str  # panel title
    ref: str  # target refId
    expr: str  # as written in the dashboard
    promql: str  # variables substituted

    @property
    def name(self) -> str:
        return f"{self.dashboard} > {self.panel} [{self.ref}]"

    @property
    def over_slo_rules(self) -> bool:
        return bool(SLO_SERIES.search(self.expr))


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def variables_of(dashboard: dict) -> dict[str, dict]:
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def used_variables(expr: str) -> set[str]:
    return {a or b for a, b in VARIABLE.findall(expr)}


def substitute(expr: str, dashboard: dict) -> str:
    """The PromQL Grafana sends: built-ins by value, template variables by their All value."""
    variables = variables_of(dashboard)

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name in GRAFANA_BUILTINS:
            return GRAFANA_BUILTINS[name]
        variable = variables.get(name)
        if variable is None:
            raise KeyError(f"{dashboard.get('uid')}: ${name} is not a variable of the dashboard")
        return variable.get("allValue") or ".*"

    return VARIABLE.sub(value, expr)


def panels_of(dashboard: dict) -> list[dict]:
    """Every panel, those inside collapsed rows included."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return [p for p in found if p.get("type") != "row"]


def panel_queries() -> list[PanelQuery]:
    queries = []
    for path in dashboard_files():
        dashboard = load(path)
        for panel in panels_of(dashboard):
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                queries.append(
                    PanelQuery(path.name, panel["title"], target.get("refId", "?"), expr,
                               substitute(expr, dashboard))
                )  # fmt: skip
    return queries


def rule_files() -> list[Path]:
    return sorted(RULES.glob("*.yml"))


@dataclass(frozen=True)
class Rule:
    file: str
    group: str
    name: str  # the recorded series or the alert
    expr: str
    recording: bool


def rules() -> list[Rule]:
    found = []
    for path in rule_files():
        for group in yaml.safe_load(path.read_text()).get("groups", []):
            for rule in group.get("rules", []):
                recording = "record" in rule
                name = rule["record"] if recording else rule["alert"]
                found.append(Rule(path.name, group["name"], name, str(rule["expr"]), recording))
    return found


def recorded_series() -> set[str]:
    return {rule.name for rule in rules() if rule.recording}


def slo_rules_exist() -> bool:
    """Whether any rule file records ``slo:`` series (ops-slo's generated slo.yml)."""
    return any(name.startswith("slo:") for name in recorded_series())

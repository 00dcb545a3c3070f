"""promtool on the shipped rules: they load, and their unit tests pass.

``promtool check rules`` on every file of ops/prometheus/rules/ and ``promtool
test rules`` on every unit test file of ops/prometheus/tests/ (promtool from
Debian's ``prometheus`` package: tests/prometheus.py installs it, and under
CI=true its absence is a failure). The unit tests must cover every alert: each
alert name and severity has a case that expects it to fire, and each alert
name a case that expects silence.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from lukhas_site import slo
from tests.services import REPO

RULES = REPO / "ops" / "prometheus" / "rules"
UNIT_TESTS = REPO / "ops" / "prometheus" / "tests"


def _rule_files() -> list[Path]:
    return sorted(RULES.glob("*.yml"))


def _unit_test_files() -> list[Path]:
    return sorted(UNIT_TESTS.glob("*.test.yml"))


def _promtool(binaries, *args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binaries.promtool, *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.mark.parametrize("path", _rule_files(), ids=lambda p: p.name)
def test_it_checks_every_rule_file_with_promtool(prometheus_bin, path):
    checked = _promtool(prometheus_bin, "check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


@pytest.mark.parametrize("path", _unit_test_files(), ids=lambda p: p.name)
def test_it_passes_every_rule_unit_test(prometheus_bin, path):
    tested = _promtool(prometheus_bin, "test", "rules", path.name, cwd=path.parent)
    assert tested.returncode == 0, tested.stdout[-8000:] + tested.stderr[-2000:]


def test_it_fails_a_unit_test_whose_alert_does_not_fire(prometheus_bin, tmp_path):
    """The runner is not a rubber stamp: a case that expects a page on healthy series fails."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "lukhas-site.yml").write_text((RULES / "lukhas-site.yml").read_text())
    case = {
        "rule_files": ["rules/lukhas-site.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": 'up{job="lukhas-ops",instance="a"}', "values": "1x20"}],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "LukhasTargetDown",
                        "exp_alerts": [{"exp_labels": {"severity": "page"}}],
                    }
                ],
            }
        ],
    }
    (tmp_path / "wrong.test.yml").write_text(yaml.safe_dump(case))
    tested = _promtool(prometheus_bin, "test", "rules", "wrong.test.yml", cwd=tmp_path)
    assert tested.returncode != 0
    assert "LukhasTargetDown" in tested.stdout + tested.stderr


def _alerts() -> set[tuple[str, str]]:
    found = set()
    for path in _rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found.add((rule["alert"], rule["labels"]["severity"]))
    return found


def _cases() -> tuple[dict[str, set[str]], set[str], set[str]]:
    """(alert → severities expected to fire, alerts expected silent, rule files tested)."""
    firing: dict[str, set[str]] = defaultdict(set)
    silent: set[str] = set()
    loaded: set[str] = set()
    for path in _unit_test_files():
        document = yaml.safe_load(path.read_text())
        loaded.update((path.parent / f).resolve().name for f in document["rule_files"])
        for group in document["tests"]:
            for case in group.get("alert_rule_test", []):
                expected = case.get("exp_alerts") or []
                if not expected:
                    silent.add(case["alertname"])
                for alert in expected:
                    firing[case["alertname"]].add(alert["exp_labels"].get("severity", "?"))
    return firing, silent, loaded


def test_it_has_a_firing_and_a_silent_case_for_every_alert():
    alerts = _alerts()
    assert len(alerts) >= 14 + 16  # site 5, MATRIZ 8, sign-in 1, and 8 SLOs x (page, ticket)
    firing, silent, loaded = _cases()
    untested = sorted(f"{a} ({s})" for a, s in alerts if s not in firing.get(a, set()))
    assert not untested, f"no unit test expects these alerts to fire: {untested}"
    never_silent = sorted({a for a, _ in alerts} - silent)
    assert not never_silent, f"no unit test shows these alerts silent: {never_silent}"
    assert {p.name for p in _rule_files()} <= loaded, "a rule file no unit test loads"


@pytest.mark.parametrize(
    "severity, windows",
    [
        ("page", (slo.BurnWindow(30, "1h", "5m"), slo.BurnWindow(6, "6h", "30m"))),
        ("page", (slo.BurnWindow(14.4, "1h", "5m"), slo.BurnWindow(10, "6h", "30m"))),
        ("ticket", (slo.BurnWindow(3, "1d", "2h"), slo.BurnWindow(2.5, "3d", "6h"))),
    ],
    ids=["page-1h-factor", "page-6h-factor", "ticket-3d-factor"],
)
def test_it_catches_a_wrong_burn_rate_condition(
    prometheus_bin,
    tmp_path,
    monkeypatch,
    severity,
    windows,
):
    """The window tests pin each condition: rules generated with one factor changed fail them."""
    anchor = slo.BURN_ALERTS[severity][1]
    monkeypatch.setitem(slo.BURN_ALERTS, severity, (windows, anchor))
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "slo.yml").write_text(slo.render_rules(slo.load_slos()))
    (tmp_path / "tests").mkdir()
    case = (UNIT_TESTS / "slo-windows.test.yml").read_text()
    (tmp_path / "tests" / "slo-windows.test.yml").write_text(case)
    tested = _promtool(
        prometheus_bin, "test", "rules", "slo-windows.test.yml", cwd=tmp_path / "tests"
    )
    assert tested.returncode != 0, "a changed burn-rate factor went unnoticed"
    assert "LukhasV1AvailabilityBudgetBurn" in tested.stdout + tested.stderr

"""The sample Alertmanager config: valid for amtool, and page vs ticket routed apart."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.alertmanager import amtool_bin  # noqa: F401  (the fixture)
from tests.services import REPO

CONFIG = REPO / "ops" / "alertmanager" / "alertmanager.yml"
RULES = REPO / "ops" / "prometheus" / "rules"


def _amtool(amtool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([amtool, *args], capture_output=True, text=True, timeout=60)


def _route(amtool: str, config: Path, *labels: str) -> str:
    routed = _amtool(amtool, "config", "routes", "test", f"--config.file={config}", *labels)
    assert routed.returncode == 0, routed.stdout + routed.stderr
    return routed.stdout.strip()


def test_it_passes_amtool_check_config(amtool_bin):  # noqa: F811
    checked = _amtool(amtool_bin, "check-config", str(CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_it_refuses_a_route_to_a_receiver_that_does_not_exist(amtool_bin, tmp_path):  # noqa: F811
    config = yaml.safe_load(CONFIG.read_text())
    config["route"]["routes"][0]["receiver"] = "nobody"
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(yaml.safe_dump(config))
    checked = _amtool(amtool_bin, "check-config", str(broken))
    assert checked.returncode != 0
    assert "nobody" in checked.stdout + checked.stderr


def _severities() -> set[str]:
    found = set()
    for path in RULES.glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.update(r["labels"]["severity"] for r in group["rules"] if "alert" in r)
    return found


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (("alertname=LukhasV1AvailabilityBudgetBurn", "severity=page"), "page"),
        (("alertname=LukhasV1AvailabilityBudgetBurn", "severity=ticket"), "ticket"),
        (("alertname=LukhasTargetDown", "severity=page"), "page"),
        (("alertname=MatrizBreakerOpen", "severity=ticket"), "ticket"),
        # No severity (a rule someone forgot to label): a ticket, never dropped.
        (("alertname=SomethingNew",), "ticket"),
    ],
)
def test_it_routes_page_and_ticket_to_their_receivers(amtool_bin, labels, receiver):  # noqa: F811
    assert _route(amtool_bin, CONFIG, *labels) == receiver


def test_it_has_a_route_for_every_severity_the_rules_use(amtool_bin):  # noqa: F811
    assert _severities() == {"page", "ticket"}
    for severity in _severities():
        assert _route(amtool_bin, CONFIG, f"severity={severity}") == severity


def test_it_delivers_nowhere_until_configured():
    """The sample's webhooks are placeholders on the discard port, as documented."""
    config = yaml.safe_load(CONFIG.read_text())
    urls = [w["url"] for r in config["receivers"] for w in r.get("webhook_configs", [])]
    assert urls and all(url.startswith("http://127.0.0.1:9/") for url in urls)

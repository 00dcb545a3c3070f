"""The generated SLO rules on a real Prometheus (Debian's) scraping a live site.

promtool's unit tests prove the arithmetic on series we wrote by hand; this
proves the rules meet the series the site really exports (metric names, the
``le`` spelling of bucket edges, the route labels): Prometheus loads
ops/prometheus/rules/slo.yml, scrapes a live site under a short burst of
/v1 traffic (whole and streamed answers through MATRIZ, Guardian denials),
and every SLO with traffic records every Sloth series. An SLO without
traffic (no Celery task ran) stays no data.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import httpx
import pytest
import yaml

from lukhas_site import slo
from tests.ops.test_slo_rules import RECORDS, REQUIRED
from tests.prometheus import PrometheusServer

pytestmark = [pytest.mark.e2e]

# The SLOs the burst below feeds (all but the Celery one, which needs a worker).
WITH_TRAFFIC = sorted(REQUIRED - {"jobs-celery-success"})


def _load_rules(prometheus: PrometheusServer) -> None:
    """Add the SLO rules to a running Prometheus (evaluated every second) and reload it."""
    rules = prometheus.workdir / "rules"
    rules.mkdir()
    shutil.copy(slo.RULES_PATH, rules / "slo.yml")
    config = yaml.safe_load(prometheus.config_path.read_text())
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(rules / "slo.yml")]
    prometheus.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    checked = subprocess.run(
        [prometheus.binaries.promtool, "check", "config", str(prometheus.config_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    prometheus.proc.send_signal(signal.SIGHUP)
    groups = 3 * len(slo.load_slos().slos)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = httpx.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()
        if len(body["data"]["groups"]) == groups:
            return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus did not load the SLO rules:\n{prometheus.output()}")


def _index(base: str, key: str) -> str:
    """A memory index to recall from: without one the memory stage has nothing to do."""
    auth = {"Authorization": f"Bearer {key}"}
    created = httpx.post(f"{base}/v1/indexes", json={"name": "slo-live"}, headers=auth)
    assert created.status_code == 200, created.text
    index = created.json()["id"]
    items = [{"text": "budgets burn at 14.4x"}, {"text": "tickets burn at 3x"}]
    added = httpx.post(f"{base}/v1/indexes/{index}/items", json={"items": items}, headers=auth)
    assert added.status_code == 200, added.text
    return index


def _burst(base: str, good: str, denied: str, *, rounds: int, index: str) -> None:
    chat = {
        "model": "lukhas-matriz-1",
        "messages": [{"role": "user", "content": "how fast do budgets burn?"}],
        "metadata": {"indexes": index},
    }
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(rounds):
            auth = {"Authorization": f"Bearer {good}"}
            assert client.post("/v1/chat/completions", json=chat, headers=auth).status_code == 200
            with client.stream(
                "POST", "/v1/chat/completions", json={**chat, "stream": True}, headers=auth
            ) as stream:
                assert stream.status_code == 200
                assert b"[DONE]" in b"".join(stream.iter_bytes())
            # models:read only: chat needs responses:write, so Guardian denies.
            refused = client.post(
                "/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {denied}"}
            )
            assert refused.status_code == 403


def _scraped(site_base: str, name: str) -> float:
    text = httpx.get(f"{site_base}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


def test_it_records_every_slo_series_from_the_sites_real_metrics(
    live_site,
    mint_key,
    prometheus_bin,
    tmp_path,
):
    site = live_site()
    good, _ = mint_key(["models:read", "responses:write", "indexes:write"], rpm=10_000)
    denied, _ = mint_key(["models:read"], rpm=10_000)
    prometheus = PrometheusServer(prometheus_bin, tmp_path / "prometheus", targets=[site.base])
    try:
        prometheus.start()
        _load_rules(prometheus)
        # Warm-up: every series exists before the burst (rate() cannot see the
        # increase of a series' first sample), then a scrape of it.
        index = _index(site.base, good)
        _burst(site.base, good, denied, rounds=1, index=index)
        decisions = "lukhas_guardian_decisions_total"
        prometheus.wait_until(f"sum({decisions})", _scraped(site.base, decisions))
        time.sleep(1.5)
        _burst(site.base, good, denied, rounds=4, index=index)
        prometheus.wait_until(f"sum({decisions})", _scraped(site.base, decisions))

        missing: list[str] = []
        deadline = time.monotonic() + 30
        while True:
            # One query for every recorded (rule, SLO) pair there is.
            recorded = {
                (row["metric"]["__name__"], row["metric"].get("sloth_id"))
                for row in prometheus.query('group by (__name__, sloth_id) ({__name__=~"slo:.+"})')
            }
            missing = [
                f"{record}{{sloth_id={sloth_id!r}}}"
                for sloth_id in WITH_TRAFFIC
                for record in RECORDS
                if (record, sloth_id) not in recorded
            ]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert not missing, f"no data on a live site for: {missing}"

        def value(record: str, sloth_id: str) -> float:
            found = prometheus.value(f'{record}{{sloth_id="{sloth_id}"}}')
            assert found is not None, (record, sloth_id)
            return found

        # No 5xx happened: the error ratio is 0 and the budget untouched.
        assert value("slo:sli_error:ratio_rate5m", "lukhas-v1-availability") == 0
        assert value("slo:period_error_budget_remaining:ratio", "lukhas-v1-availability") == 1
        # One denial per round of three decisions-worth of calls: neither 0 nor 1.
        assert 0 < value("slo:sli_error:ratio_rate5m", "guardian-denial-ratio") < 1
        for sloth_id in WITH_TRAFFIC:
            assert 0 <= value("slo:sli_error:ratio_rate1h", sloth_id) <= 1, sloth_id
        assert value("slo:objective:ratio", "guardian-pdp-latency") == 0.99
        # No Celery task ran in this site: that SLO is no data, never 0 % errors.
        if not prometheus.query("lukhas_celery_tasks_total"):
            assert not prometheus.query(
                'slo:sli_error:ratio_rate5m{sloth_id="jobs-celery-success"}'
            )
    finally:
        prometheus.stop()

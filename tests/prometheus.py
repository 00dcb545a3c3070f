"""A real Prometheus for tests: Debian's ``prometheus`` package, our own instance.

Never a downloaded binary: ``prometheus`` and ``promtool`` come from the
distribution, apt-installed by the set-up when missing (a failure under
``CI=true``, a skip elsewhere), as tests/browser.py does for Chromium.

Debian's postinst may start a system Prometheus on :9090; the tests never
use or touch it. Each ``PrometheusServer`` is our own process on a free
loopback port, with its TSDB in a temporary directory and a generated scrape
config (every second) that ``promtool check config`` has accepted::

    def test_it_counts(prometheus_server, live_site):
        site = live_site()
        prom = prometheus_server(targets=[site.base])       # waits for up == 1
        prom.query('sum(lukhas_http_requests_total)')        # the result vector

A module that wants one Prometheus for all its tests builds
``PrometheusServer(...)`` itself in a module-scoped fixture.
"""

from __future__ import annotations

import math
import os
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tests.guardian.helpers import free_port
from tests.services import IN_CI, apt_install

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


@dataclass(frozen=True)
class PrometheusBinaries:
    prometheus: str
    promtool: str


@pytest.fixture(scope="session")
def prometheus_bin() -> PrometheusBinaries:
    """Debian's prometheus + promtool, apt-installed when missing; skip (fail in CI) if not."""
    if os.path.exists(PROMETHEUS) and os.path.exists(PROMTOOL):
        return PrometheusBinaries(PROMETHEUS, PROMTOOL)
    problem = apt_install("prometheus")
    if problem is None and os.path.exists(PROMETHEUS) and os.path.exists(PROMTOOL):
        return PrometheusBinaries(PROMETHEUS, PROMTOOL)
    reason = f"{PROMETHEUS} is missing and could not be installed ({problem or 'no binary'})"
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def scrape_config(
    targets: Iterable[str],
    *,
    token: str = "",
    interval: str = "1s",
    rule_files: Iterable[str] = (),
) -> dict:
    """One job scraping ``<target>/metrics`` of each base URL, with the metrics token if any.

    ``rule_files`` (absolute paths) are loaded and evaluated at the scrape interval.
    """
    static = []
    for base in targets:
        parts = urlsplit(base)
        static.append({"targets": [parts.netloc], "labels": {"instance_url": base}})
    job: dict[str, Any] = {
        "job_name": "lukhas",
        "metrics_path": "/metrics",
        "scheme": "http",
        "static_configs": static,
    }
    if token:
        job["authorization"] = {"type": "Bearer", "credentials": token}
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "scrape_timeout": interval},
        "scrape_configs": [job],
    }
    rule_files = [str(path) for path in rule_files]
    if rule_files:
        config["global"]["evaluation_interval"] = interval
        config["rule_files"] = rule_files
    return config


class PrometheusError(RuntimeError):
    pass


class PrometheusServer:
    """Our own ``prometheus`` process: start (ready + first scrape), query, stop."""

    def __init__(
        self,
        binaries: PrometheusBinaries,
        workdir: Path,
        *,
        targets: Iterable[str],
        token: str = "",
        interval: str = "1s",
        rule_files: Iterable[str] = (),
    ) -> None:
        self.binaries = binaries
        self.rule_files = [str(path) for path in rule_files]
        self.workdir = Path(workdir)
        self.targets = list(targets)
        self.token = token
        self.interval = interval
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.workdir / "prometheus.yml"
        self.log_path = self.workdir / "prometheus.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> PrometheusServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = scrape_config(
            self.targets, token=self.token, interval=self.interval, rule_files=self.rule_files
        )
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        checked = subprocess.run(
            [self.binaries.promtool, "check", "config", str(self.config_path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if checked.returncode != 0:
            raise PrometheusError(f"promtool refused the config: {checked.stdout}{checked.stderr}")
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                self.binaries.prometheus,
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1d",
                # The test reads back what it just made: no lookback surprises.
                "--query.lookback-delta=5m",
            ],
            cwd=self.workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None:
                raise PrometheusError(f"prometheus exited early:\n{self.output()}")
            if time.monotonic() > deadline:
                self.stop()
                raise PrometheusError(f"prometheus not ready after {timeout}s:\n{self.output()}")
            time.sleep(0.1)
        self.wait_for_scrape(timeout=max(5.0, deadline - time.monotonic()))
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_for_scrape(self, timeout: float = 30.0) -> None:
        """Until every target has been scraped successfully (``up == 1``)."""
        deadline = time.monotonic() + timeout
        while True:
            up = [float(row["value"][1]) for row in self.query('up{job="lukhas"}')]
            if len(up) == len(self.targets) and all(value == 1 for value in up):
                return
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"targets not up after {timeout}s ({self.target_health()}):\n{self.output()}"
                )
            time.sleep(0.2)

    def wait_until(self, promql: str, expected: float, timeout: float = 20.0) -> float:
        """Until ``promql`` (one series) equals ``expected``: a scrape saw the latest figures."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.value(promql)
            if value is not None and math.isclose(value, expected):
                return value
            if time.monotonic() > deadline:
                raise PrometheusError(f"{promql} is {value}, not {expected}, after {timeout}s")
            time.sleep(0.2)

    def query(self, promql: str, at: float | None = None) -> list[dict]:
        params: dict[str, Any] = {"query": promql}
        if at is not None:
            params["time"] = at
        response = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{promql}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]

    def value(self, promql: str, at: float | None = None) -> float | None:
        result = self.query(promql, at)
        return float(result[0]["value"][1]) if result else None

    def target_health(self) -> list[dict]:
        response = httpx.get(f"{self.url}/api/v1/targets", timeout=5)
        return [
            {"url": t["scrapeUrl"], "health": t["health"], "error": t["lastError"]}
            for t in response.json()["data"]["activeTargets"]
        ]

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()


@pytest.fixture
def prometheus_server(prometheus_bin, tmp_path):
    """``prometheus_server(targets=[base_url, ...], token="", rule_files=())`` → started."""
    started: list[PrometheusServer] = []

    def start(
        *,
        targets: Iterable[str],
        token: str = "",
        interval: str = "1s",
        rule_files: Iterable[str] = (),
    ) -> PrometheusServer:
        workdir = tmp_path / f"prometheus-{len(started)}"
        server = PrometheusServer(
            prometheus_bin,
            workdir,
            targets=targets,
            token=token,
            interval=interval,
            rule_files=rule_files,
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()

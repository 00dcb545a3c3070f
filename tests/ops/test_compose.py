"""ops/docker-compose.yml: the full stack, checked without starting it.

With Docker Compose installed, ``docker compose config`` validates the file
(with placeholder secrets). Always: the YAML is parsed and held to what
docs/ops/README.md promises — the services, every mounted file or folder
exists in the repository, ports bound to loopback only, every image pinned
to a version, Grafana provisioned from ops/grafana, Prometheus loading
ops/prometheus/rules and scraping the site by its service name.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.services import REPO

COMPOSE = REPO / "ops" / "docker-compose.yml"
SERVICES = {"postgres", "redis", "site", "worker", "beat", "prometheus", "alertmanager", "grafana"}
# Files another part of issue 14 ships (ops/alertmanager: amtool-checked sample);
# until it lands, its mount is reported as waiting, never passed.
PENDING = {REPO / "ops" / "alertmanager" / "alertmanager.yml"}
PINNED = re.compile(r"^[a-z0-9./_-]+:(v?\d+(\.\d+)+[\w.-]*)(@sha256:[0-9a-f]{64})?$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _bind_mounts(compose: dict) -> list[tuple[str, Path, str]]:
    mounts = []
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source, _, target = volume.partition(":")
            if source.startswith((".", "/")):
                mounts.append((name, (COMPOSE.parent / source).resolve(), target))
    return mounts


def _docker_compose() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_it_runs_every_service_of_the_stack(compose):
    assert set(compose["services"]) >= SERVICES
    for name in ("site", "worker", "beat"):
        assert compose["services"][name]["build"]["dockerfile"] == "ops/Dockerfile"
    assert (
        COMPOSE.parent / compose["services"]["site"]["build"]["context"] / "ops" / "Dockerfile"
    ).is_file()
    worker = compose["services"]["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "lukhas_site", "worker"]
    # Web and worker write their metrics into one shared directory (one machine).
    site_env = compose["services"]["site"]["environment"]
    assert compose["services"]["worker"]["environment"] == site_env
    metrics_dir = site_env["PROMETHEUS_MULTIPROC_DIR"]
    for name in ("site", "worker"):
        assert f"metrics:{metrics_dir}" in compose["services"][name]["volumes"]


def test_it_mounts_only_files_that_exist_in_the_repository(compose):
    mounts = _bind_mounts(compose)
    assert len(mounts) >= 6
    waiting = []
    for service, source, target in mounts:
        if source in PENDING and not source.exists():
            waiting.append(f"{service}: {source.relative_to(REPO)}")
            continue
        assert source.exists(), f"{service} mounts {source} at {target}: not in the repository"
        assert source.is_relative_to(REPO / "ops"), f"{service} mounts {source} outside ops/"
    if waiting:
        pytest.skip(f"waiting for {', '.join(waiting)} (issue 14 item 6)")


def test_it_provisions_grafana_and_prometheus_from_the_repository(compose):
    grafana = {
        target: source for service, source, target in _bind_mounts(compose) if service == "grafana"
    }
    provider = yaml.safe_load((REPO / "ops" / "grafana" / "provisioning.yml").read_text())
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert grafana[f"{dashboards_path}:ro"] == REPO / "ops" / "grafana" / "dashboards"
    assert (
        grafana["/etc/grafana/provisioning/dashboards/lukhas.yml:ro"]
        == REPO / "ops" / "grafana" / "provisioning.yml"
    )
    sources = yaml.safe_load((REPO / "ops" / "grafana" / "datasources.yml").read_text())
    assert sources["datasources"][0]["url"] == "http://prometheus:9090"
    prometheus = {
        target: source
        for service, source, target in _bind_mounts(compose)
        if service == "prometheus"
    }
    assert prometheus["/etc/prometheus/rules:ro"] == REPO / "ops" / "prometheus" / "rules"
    config = yaml.safe_load(prometheus["/etc/prometheus/prometheus.yml:ro"].read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    [job] = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["site:8000"]
    assert job["authorization"]["credentials_file"] == "/run/secrets/metrics_token"
    assert "metrics_token" in compose["services"]["prometheus"]["secrets"]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]


def test_it_binds_ports_to_loopback_and_pins_images(compose):
    published = {}
    for name, service in compose["services"].items():
        image = service["image"]
        if "build" not in service:
            assert PINNED.match(image), f"{name}: {image} is not pinned to a version"
        for port in service.get("ports", []):
            host, _, rest = str(port).partition(":")
            assert host == "127.0.0.1", f"{name} publishes {port} beyond loopback"
            published[name] = int(rest.split(":")[0])
    assert published == {"site": 8000, "prometheus": 9090, "alertmanager": 9093, "grafana": 3000}


def test_promtool_accepts_the_compose_prometheus_config(compose, prometheus_bin, tmp_path):
    """The compose config as Prometheus reads it, its container paths pointed at the repository."""
    mounts = {target: source for service, source, target in _bind_mounts(compose)
              if service == "prometheus"}  # fmt: skip
    config = yaml.safe_load(mounts["/etc/prometheus/prometheus.yml:ro"].read_text())
    rules = mounts["/etc/prometheus/rules:ro"]
    config["rule_files"] = [
        str(rules / Path(pattern).relative_to("/etc/prometheus/rules"))
        for pattern in config["rule_files"]
    ]
    token = tmp_path / "metrics_token"
    token.write_text("a-token\n")
    config["scrape_configs"][0]["authorization"]["credentials_file"] = str(token)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    checked = subprocess.run(
        [prometheus_bin.promtool, "check", "config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_docker_compose_accepts_the_file(tmp_path):
    command = _docker_compose()
    if command is None:
        pytest.skip("Docker Compose is not installed: the parsed checks above stand in for it")
    env = {**os.environ, "LUKHAS_SECRET_KEY": "x" * 50, "LUKHAS_METRICS_TOKEN": "t" * 32}
    checked = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert checked.returncode == 0, checked.stderr

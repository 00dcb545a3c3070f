"""`make run` as a new user meets it: a URL, a login, readiness, metrics, Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.services import REPO

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str, output) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; output so far:\n{output()[-6000:]}")


@pytest.fixture
def make_run(tmp_path):
    port = _free_port()
    log_path = tmp_path / "make-run.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LUKHAS_", "DATABASE_URL", "REDIS_URL", "PROMETHEUS_", "DJANGO_"))
    }
    env.update(
        LUKHAS_VAR_DIR=str(tmp_path / "var"),
        LUKHAS_HEARTBEAT_SECONDS="2",
        PORT=str(port),
        # honcho passes our environment to web, worker and beat.
        LUKHAS_LOG_LEVEL="INFO",
    )
    log = log_path.open("wb")
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, like a terminal
    )

    def output() -> str:
        return log_path.read_text(errors="replace")

    yield proc, port, output
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


def test_it_starts_the_site_worker_and_beat_and_stops_on_ctrl_c(make_run, artifacts_dir):
    proc, port, output = make_run
    base = f"http://127.0.0.1:{port}"

    banner = _wait_for(
        lambda: re.search(r"starting at (http://\S+)", output()), 180, "the URL banner", output
    )
    assert banner.group(1) == f"{base}/"
    login_line = _wait_for(
        lambda: re.search(r"Demo login \((?:created|exists)\): (\S+) / (\S+)", output()),
        30,
        "the demo login",
        output,
    )
    username, password = login_line.group(1), login_line.group(2)

    def healthz_ok() -> httpx.Response | None:
        try:
            response = httpx.get(f"{base}/healthz", timeout=2)
        except httpx.HTTPError:
            return None
        return response if response.status_code == 200 else None

    healthz = _wait_for(healthz_ok, 90, "/healthz", output)
    assert healthz.headers["X-Request-ID"]

    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as browser:
        login_page = browser.get("/accounts/login/")
        assert login_page.status_code == 200
        csrf = browser.cookies["csrftoken"]
        logged_in = browser.post(
            "/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": csrf},
            headers={"Referer": f"{base}/accounts/login/"},
        )
        assert logged_in.status_code == 302, logged_in.text[:500]
        overview = browser.get("/")
        assert overview.status_code == 200
        assert 'data-check="database"' in overview.text

        # Beat enqueues the heartbeat, the worker runs it: the scheduler check
        # turns ok only when all three processes work together.
        def scheduler_ok() -> dict | None:
            checks = {c["name"]: c for c in httpx.get(f"{base}/readyz").json()["checks"]}
            return checks["scheduler"] if checks["scheduler"]["ok"] else None

        _wait_for(scheduler_ok, 90, "the scheduler heartbeat", output)
        metrics = httpx.get(f"{base}/metrics").text
        assert "lukhas_http_requests_total" in metrics
        assert 'lukhas_celery_tasks_total{outcome="success",task="lukhas.heartbeat"}' in metrics

    # Ctrl-C in the terminal: SIGINT to the whole foreground process group.
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) is not None
    (artifacts_dir / "make-run.log").write_text(output())
    time.sleep(1)
    leftovers = subprocess.run(
        ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True
    ).stdout.split()
    assert leftovers == [], f"processes left running: {leftovers}"

    # Every line the three processes logged is JSON, and no password leaked.
    app_lines = [
        line.split("| ", 1)[1]
        for line in output().splitlines()
        if "| " in line and re.match(r"^\S+ (web|worker|beat)\.1\s+\|", line)
    ]
    json_lines = [line for line in app_lines if line.startswith("{")]
    assert json_lines, "no log lines from web, worker or beat"
    for line in json_lines:
        json.loads(line)
    assert password not in "\n".join(app_lines)


def test_it_is_safe_to_run_twice(tmp_path):
    """The set-up half of `make run` (migrate, admin, demo data) changes nothing the second time."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUKHAS_", "DATABASE_URL"))}
    env["LUKHAS_VAR_DIR"] = str(tmp_path / "var")
    first = subprocess.run(["make", "demo"], cwd=REPO, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr
    second = subprocess.run(["make", "demo"], cwd=REPO, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Demo login (created)" in first.stdout
    assert "Demo login (exists)" in second.stdout
    created_password = re.search(r"Demo login \(created\): admin / (\S+)", first.stdout).group(1)
    assert f"admin / {created_password}" in second.stdout
    assert Path(env["LUKHAS_VAR_DIR"], "lukhas.sqlite3").exists()

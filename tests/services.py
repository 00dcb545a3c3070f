"""Real services for tests: find them, or skip with a reason (fail under CI).

Tests that need PostgreSQL, Redis or a Celery worker use the real thing.
On a laptop without them those tests skip and say why; with CI=true a
missing service is a failure, because a green run must mean they ran.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip locally; fail in CI, where every service must be there."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def tcp_reachable(url: str, default_port: int) -> str | None:
    """None when host:port accepts a connection, else the error text."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=1.5):
            return None
    except OSError as exc:
        return f"{host}:{port} unreachable ({exc})"


def require_redis() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        unavailable("REDIS_URL is not set (the integration pass of `make test` sets it)")
    error = tcp_reachable(url, 6379)
    if error:
        unavailable(f"Redis at {error}")
    return url


def require_postgres() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        unavailable("DATABASE_URL does not point at PostgreSQL")


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess that must share the test's database and broker."""
    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        user = db.get("USER") or ""
        auth = f"{user}@" if user else ""
        host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
        env["DATABASE_URL"] = f"postgres://{auth}{host}:{port}/{db['NAME']}"
    env.update(extra)
    return env


class CeleryWorker:
    """A real `celery worker` process for the length of a test (or session)."""

    def __init__(self, env: dict[str, str], *, beat: bool = False, log_path: Path) -> None:
        self.env = env
        self.beat = beat
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> CeleryWorker:
        cmd = [
            sys.executable, "-m", "celery", "-A", "lukhas_site", "worker",
            "--loglevel", "INFO", "--concurrency", "1", "--pool", "prefork",
            "--hostname", f"test-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        if self.beat:
            cmd += ["--beat", "--schedule", str(self.log_path.with_suffix(".schedule"))]
        self._log = self.log_path.open("wb")
        # INFO: the worker says "ready." at that level, which is what we wait for.
        env = {**self.env, "LUKHAS_LOG_LEVEL": "INFO"}
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.output()}")
            if b"ready." in self.log_path.read_bytes():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

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


def apt_install(package: str) -> str | None:
    """``apt-get install -y <package>`` (Debian's build, never a download); the problem, or None.

    For the real peers the tests drive (promtool, amtool, Chromium): the caller
    checks its binary afterwards and calls :func:`unavailable` when it is missing.
    """
    if shutil.which("apt-get") is None:
        return "apt-get is not available"
    try:
        subprocess.run(
            f"apt-get update && apt-get install -y {package}",
            shell=True,  # a fixed command line, as the set-up documents it
            check=True,
            capture_output=True,
            timeout=900,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        output = getattr(exc, "stderr", b"") or b""
        return f"apt-get install -y {package} failed: {exc} {output.decode()[-500:]}"
    return None

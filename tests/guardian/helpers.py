"""Helpers of Guardian's tests: a live site process, a Redis of our own, child processes."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from lukhas_site.serve import uvicorn_edge_args
from tests.services import REPO, unavailable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample(metric: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(metric, labels) or 0.0


class LiveSite:
    """The site under uvicorn, as a separate process on the test database.

    ``source`` is the checkout to serve: this one by default, or an older one
    (the pool test's "before" figures) that may predate the edge limits, which
    ``edge_limits=False`` leaves off.
    """

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        *,
        source: Path = REPO,
        edge_limits: bool = True,
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.source = source
        self.edge_limits = edge_limits
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> LiveSite:
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "uvicorn"),
                *("lukhas_site.asgi:application", "--app-dir", str(self.source)),
                *("--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"),
                # The edge limits the Procfile ships (lukhas_site/serve.py).
                *(uvicorn_edge_args(self.env) if self.edge_limits else ()),
            ],
            cwd=self.source,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited early:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"uvicorn not ready after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()


class OwnRedis:
    """A redis-server of this test's own, on a free port, that the test may stop."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> OwnRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed")
        self.proc = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_timeout=0.5).ping()
                return self
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def run_children(code: str, n: int, env: dict[str, str], timeout: float = 120) -> list[str]:
    """Run ``code`` in ``n`` Python processes at once; their stdout, one string each."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**env, "PYTHONPATH": str(REPO), "DJANGO_SETTINGS_MODULE": "lukhas_site.settings"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err[-4000:]
        outputs.append(out)
    return outputs

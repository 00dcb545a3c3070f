"""A throwaway LUKHAS server for an eval run: its own folder, database and key.

``LocalServer`` makes a temporary ``LUKHAS_VAR_DIR`` (SQLite, embedded
broker), migrates it, mints an API key with every scope through
``manage.py create_api_key``, starts uvicorn on a free loopback port (and a
Celery worker when a case needs one, e.g. dreams) and stops them all on exit.
Nothing is shared with a ``make run`` in the same checkout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

REPO = Path(__file__).resolve().parent.parent
# Every scope Guardian knows (tests/contract/test_evals.py keeps this in step
# with guardian.models.Scope): the eval key must be able to call everything.
EVAL_SCOPES = (
    "models:read",
    "responses:write",
    "embeddings:write",
    "indexes:read",
    "indexes:write",
    "dreams:write",
    "ops:read",
    "ops:write",
    "jobs:read",
    "jobs:write",
)
# Generous limits: an eval run must measure answers, not the rate limiter.
KEY_LIMITS = ("--rpm", "100000", "--tpm", "100000000", "--quota", "1000000000")
# Variables of the caller's environment that would point the server at shared state.
_SHARED_STATE = ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR", "DJANGO_SETTINGS_MODULE")


class ServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalServer:
    def __init__(
        self,
        *,
        worker: bool = False,
        demo: bool = False,
        keep: bool = False,
        python: str = sys.executable,
        start_timeout: float = 90.0,
    ) -> None:
        self.worker = worker
        self.demo = demo
        self.keep = keep
        self.python = python
        self.start_timeout = start_timeout
        self.folder = Path(tempfile.mkdtemp(prefix="lukhas-evals-"))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.api_key = ""
        self.processes: list[tuple[str, subprocess.Popen]] = []

    # -- environment and one-off commands ------------------------------------------

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LUKHAS_") and k not in _SHARED_STATE
        }
        var = self.folder / "var"
        (var / "prometheus").mkdir(parents=True, exist_ok=True)
        env.update(
            LUKHAS_VAR_DIR=str(var),
            PROMETHEUS_MULTIPROC_DIR=str(var / "prometheus"),
            LUKHAS_LOG_LEVEL="WARNING",
            OTEL_TRACES_EXPORTER="none",
        )
        return env

    def manage(self, *args: str) -> str:
        """Run ``manage.py`` with the server's environment; its stdout, or ServerError."""
        done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [self.python, "manage.py", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise ServerError(
                f"manage.py {' '.join(args[:1])} failed ({done.returncode}):\n"
                f"{(done.stderr or done.stdout)[-3000:]}"
            )
        return done.stdout

    def mint_key(self) -> str:
        try:
            out = self.manage(
                "create_api_key", "--name", "evals", "--scopes", ",".join(EVAL_SCOPES), *KEY_LIMITS
            )
        except ServerError as exc:
            raise ServerError(f"could not mint the eval key with create_api_key: {exc}") from exc
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        if not lines:
            raise ServerError("create_api_key printed no key")
        return lines[-1]

    # -- processes ------------------------------------------------------------------

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [self.python, *args],
            cwd=REPO,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its children
        )
        log.close()
        self.processes.append((name, process))
        return process

    def log_tail(self, name: str, size: int = 4000) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        url = f"http://127.0.0.1:{self.port}/healthz"
        while time.monotonic() < deadline:
            for name, process in self.processes:
                if process.poll() is not None:
                    raise ServerError(f"{name} exited early:\n{self.log_tail(name)}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise ServerError(
            f"no answer on {url} after {self.start_timeout:g}s:\n{self.log_tail('web')}"
        )

    def start(self) -> LocalServer:
        self.manage("migrate", "--noinput")
        self.manage("createcachetable")
        if self.demo:  # make run's demo data: the plans, their memories and a soak
            self.manage("load_demo_data")
        self.api_key = self.mint_key()
        self.spawn(
            "web",
            ["-m", "uvicorn", "lukhas_site.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log"],
        )  # fmt: skip
        if self.worker:
            self.spawn(
                "worker",
                ["-m", "celery", "-A", "lukhas_site", "worker", "--loglevel", "WARNING",
                 "--concurrency", "1", "--hostname", f"evals-{self.port}@%h"],
            )  # fmt: skip
        self.wait_ready()
        return self

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> LocalServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

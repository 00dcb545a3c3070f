"""What every collector shares: the workspace it runs in, the subprocess runner, its result.

No Django here and no import of the audited code: each tool runs as a
subprocess of the worker with a time limit, in its own process group (a
timeout kills the tool and its children), with a scrubbed environment (the
worker's DJANGO_SETTINGS_MODULE or PYTEST_ADDOPTS must not leak into the
audited test run). Full output goes to files in the report's work directory
for parsing; what a CollectorRun keeps is bounded (head and tail).
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from audits.config import LanesConfig

OK = "ok"
FAILED = "failed"
UNAVAILABLE = "unavailable"
ERROR = "error"

# Variables of the worker that would change how an audited tool behaves.
_SCRUBBED_PREFIXES = ("DJANGO_", "PYTEST_", "COV_", "COVERAGE_", "LUKHAS_", "CELERY_", "TEST_")


@dataclass(frozen=True)
class Workspace:
    """Where a collector runs: the codebase, its config, a scratch directory, interpreters."""

    config: LanesConfig
    config_path: Path
    checkout: Path
    workdir: Path
    python: str = sys.executable
    raw_output_bytes: int = 65_536

    @property
    def python_version(self) -> str:
        return platform.python_version()

    @property
    def config_dir(self) -> Path:
        return self.config_path.parent

    def tool(self, name: str) -> str | None:
        """A console script of the site's environment (next to its interpreter), else PATH."""
        candidate = Path(sys.executable).parent / name
        if candidate.exists():
            return str(candidate)
        return shutil.which(name)

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(_SCRUBBED_PREFIXES) and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
        }
        for key, value in self.config.env.items():
            env[key] = value.format(workdir=self.workdir, checkout=self.checkout)
        # Byte code of compileall and of the test runs goes to the work directory,
        # never into the audited checkout.
        env["PYTHONPYCACHEPREFIX"] = str(self.workdir / "pycache")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env

    def relative(self, path: str | Path) -> str:
        """A tool's file path as a path relative to the checkout (for lanes and fingerprints)."""
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = (self.checkout / candidate).resolve()
        try:
            return candidate.resolve().relative_to(self.checkout).as_posix()
        except ValueError:
            return str(path)


@dataclass
class ToolRun:
    """One subprocess: exactly what ran, how long, how it ended, where its output is."""

    argv: list[str]
    cwd: Path
    exit_code: int | None
    duration: float
    stdout: str
    stderr: str
    timed_out: bool = False
    missing: bool = False

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


def run_tool(
    workspace: Workspace,
    argv: list[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> ToolRun:
    """Run one tool with a time limit; a timeout kills its whole process group."""
    cwd = cwd or workspace.checkout
    started = time.monotonic()
    workspace.workdir.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv built from config, never a shell
            argv,
            cwd=cwd,
            env=env or workspace.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            errors="replace",
        )
    except FileNotFoundError:
        return ToolRun(argv, cwd, None, 0.0, "", f"{argv[0]}: not found", missing=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        timed_out = True
    return ToolRun(
        argv,
        cwd,
        None if timed_out else proc.returncode,
        time.monotonic() - started,
        stdout,
        stderr,
        timed_out=timed_out,
    )


def bounded(text: str, limit: int) -> tuple[str, bool]:
    """Head and tail of a tool's output within `limit` characters, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    half = limit // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n… [{cut} characters cut] …\n{text[-half:]}", True


def dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


@dataclass
class FindingData:
    """One finding before it is a row; the fingerprint ignores the line (a moved finding)."""

    collector: str
    rule: str
    message: str
    file: str = ""
    line: int | None = None
    severity: str = "medium"
    lane: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    # What identifies it across reports when the message varies (a test id).
    key: str = ""

    @property
    def fingerprint(self) -> str:
        key = "\x1f".join((self.collector, self.rule, self.file, self.key or self.message))
        return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class CollectorResult:
    """What a collector measured; `metrics` are the flat facts the gate reads (None: unknown)."""

    collector: str
    status: str
    tool: str = ""
    tool_version: str = ""
    commands: list[str] = field(default_factory=list)
    duration: float = 0.0
    exit_code: int | None = None
    raw_output: str = ""
    raw_truncated: bool = False
    facts: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    findings: list[FindingData] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    error: str = ""

    def record(self, run: ToolRun, workspace: Workspace) -> ToolRun:
        """Add one tool run's command, duration, exit code and bounded output."""
        self.commands.append(run.command)
        self.duration += run.duration
        self.exit_code = run.exit_code
        chunk = f"$ {run.command}\n{run.stdout}{run.stderr}"
        self.raw_output, cut = bounded(
            f"{self.raw_output}\n{chunk}" if self.raw_output else chunk,
            workspace.raw_output_bytes,
        )
        self.raw_truncated = self.raw_truncated or cut
        return run

    def give_up(self, status: str, error: str, metric_names: tuple[str, ...]) -> CollectorResult:
        """No measurement: every metric is unknown (None), never 0."""
        self.status = status
        self.error = error
        self.metrics = dict.fromkeys(metric_names)
        return self


def run_failure(run: ToolRun, tool: str) -> tuple[str, str] | None:
    """The status and reason when a run gave nothing to parse (missing tool, timeout)."""
    if run.missing:
        return UNAVAILABLE, f"{tool} is not installed"
    if run.timed_out:
        return FAILED, f"{tool} did not finish within its time limit"
    return None

"""The ``locust --headless`` process: started, stopped, waited for.

No Django here (the services give it the key). Locust runs as its own
process group with a bounded ``--run-time``, so a parent that dies never
leaves load running for longer than the profile's duration. The API key
reaches it in a 0600 file named by an environment variable, never on its
command line (``ps`` shows command lines to every user).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from soak.load.profile import LoadProfile
from soak.load.results import results_for

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
KEY_ENV = "LUKHAS_SOAK_LOAD_KEY_FILE"
LEASE_FILE_ENV = "LUKHAS_SOAK_LOAD_LEASE_FILE"
LEASE_SECONDS_ENV = "LUKHAS_SOAK_LOAD_LEASE_SECONDS"
LEASE_FILE = "lease"
PROFILE_ENV = "LUKHAS_SOAK_LOAD_PROFILE_FILE"
LABEL_ENV = "LUKHAS_SOAK_LOAD_LABEL"
STATE_FILE = "load.json"
# Locust's own grace for users to finish their task at the end of --run-time.
STOP_TIMEOUT_SECONDS = 10
# Our grace after SIGTERM before SIGKILL (Locust writes its CSV on SIGTERM).
TERM_GRACE_SECONDS = 15.0

# Processes this interpreter started, so stopping one also reaps it (no zombie).
_CHILDREN: dict[int, subprocess.Popen] = {}


class LoadError(RuntimeError):
    """Locust could not be started, or a pid is not one of our load processes."""


@dataclass(frozen=True)
class LoadProcess:
    """One load run: its process and where it writes."""

    pid: int
    run_label: str
    target_url: str
    out_dir: str
    csv_prefix: str
    log_path: str
    key_file: str
    profile_file: str
    started_at: float
    duration_seconds: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dir(cls, out_dir: str | Path) -> LoadProcess:
        """The run recorded in ``out_dir/load.json`` (e.g. by another process)."""
        path = Path(out_dir) / STATE_FILE
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise LoadError(f"{path}: no load run recorded here ({exc})") from None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode on O_CREAT


def locust_command(*, target_url: str, profile: LoadProfile, csv_prefix: str) -> list[str]:
    """The command line (no secret on it)."""
    return [
        str(Path(sys.executable).parent / "locust"),
        *("-f", str(LOCUSTFILE)),
        "--headless",
        *("-u", str(profile.users)),
        *("-r", str(profile.spawn_rate)),
        *("--run-time", f"{profile.duration_seconds}s"),
        *("--stop-timeout", str(STOP_TIMEOUT_SECONDS)),
        *("--host", target_url.rstrip("/")),
        *("--csv", csv_prefix),
        "--only-summary",
        *("--loglevel", "WARNING"),
        *("--exit-code-on-error", "0"),
    ]


def start(
    *,
    target_url: str,
    profile: LoadProfile,
    out_dir: str | Path,
    run_label: str,
    api_key: str,
    lease_seconds: float | None = None,
) -> LoadProcess:
    """Start Locust in the background; returns at once.

    With ``lease_seconds``, Locust quits once ``<out_dir>/lease`` has not been
    touched for that long (:func:`lease_renew`): a soak's load lasts days,
    and must not outlive the sentinel that renews it (a stopped ``make run``).
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    key_file = out / "api-key"
    profile_file = out / "profile.json"
    _write_private(key_file, api_key)
    profile_file.write_text(profile.to_json())
    csv_prefix = str(out / "locust")
    for stale in [*out.glob("locust_*.csv"), *out.glob("locust_*.csv.tmp")]:
        stale.unlink()
    log_path = out / "locust.log"
    if lease_seconds:
        (out / LEASE_FILE).touch()
    env = {
        **os.environ,
        KEY_ENV: str(key_file),
        PROFILE_ENV: str(profile_file),
        LABEL_ENV: run_label,
        LEASE_FILE_ENV: str(out / LEASE_FILE) if lease_seconds else "",
        LEASE_SECONDS_ENV: str(lease_seconds or ""),
        # Locust's own reading of LOCUST_* variables must not change our command.
        "PYTHONUNBUFFERED": "1",
    }
    for name in [n for n in env if n.startswith("LOCUST_")]:
        env.pop(name)
    command = locust_command(target_url=target_url, profile=profile, csv_prefix=csv_prefix)
    with log_path.open("ab") as log:
        try:
            proc = subprocess.Popen(  # noqa: S603 - our venv's locust, fixed arguments, no shell
                command,
                cwd=out,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one
            )
        except OSError as exc:
            raise LoadError(f"cannot start Locust ({command[0]}): {exc.strerror}") from None
    _CHILDREN[proc.pid] = proc
    run = LoadProcess(
        pid=proc.pid,
        run_label=run_label,
        target_url=target_url.rstrip("/"),
        out_dir=str(out),
        csv_prefix=csv_prefix,
        log_path=str(log_path),
        key_file=str(key_file),
        profile_file=str(profile_file),
        started_at=time.time(),
        duration_seconds=profile.duration_seconds,
    )
    (out / STATE_FILE).write_text(json.dumps(run.as_dict(), indent=2))
    return run


def lease_renew(out_dir: str | Path) -> bool:
    """Touch the lease of the load writing to ``out_dir``; False when it has none."""
    lease = Path(out_dir) / LEASE_FILE
    if not lease.exists():
        return False
    lease.touch()
    return True


def _is_ours(pid: int) -> bool:
    """The pid runs our locustfile (not a reused pid of something else)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(LOCUSTFILE).encode() in cmdline


def is_running(pid: int) -> bool:
    """The load process is alive (a reaped or zombie child is not)."""
    proc = _CHILDREN.get(pid)
    if proc is not None:
        return proc.poll() is None
    if not _is_ours(pid):
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait(pid: int, timeout: float | None = None) -> bool:
    """Wait for the process to end; True if it did within ``timeout``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    proc = _CHILDREN.get(pid)
    while is_running(pid):
        if deadline is not None and time.monotonic() >= deadline:
            return False
        if proc is not None:
            step = 0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=step)
        else:
            time.sleep(0.2)
    if proc is not None:
        proc.poll()
        _CHILDREN.pop(pid, None)
    return True


def stop(pid: int, *, grace: float = TERM_GRACE_SECONDS) -> bool:
    """SIGTERM the load's process group (Locust writes its CSV), SIGKILL after ``grace``.

    True if this call stopped it; False if it had already ended. A pid
    that is not a load process of ours is refused (LoadError).
    """
    if not is_running(pid):
        wait(pid, timeout=0)
        return False
    if pid not in _CHILDREN and not _is_ours(pid):
        raise LoadError(f"pid {pid} is not a soak load process")
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if not wait(pid, timeout=grace):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        wait(pid, timeout=5.0)
    return True


def results(run: LoadProcess | str | Path) -> dict[str, Any]:
    """The run's figures so far (Locust rewrites its CSV every second) and its state."""
    if not isinstance(run, LoadProcess):
        run = LoadProcess.from_dir(run)
    figures = results_for(run.csv_prefix)
    running = is_running(run.pid)
    return {
        "run_label": run.run_label,
        "target_url": run.target_url,
        "pid": run.pid,
        "running": running,
        "started_at": run.started_at,
        "duration_seconds": run.duration_seconds,
        "profile": json.loads(Path(run.profile_file).read_text()),
        **figures,
        # Figures of a run still going are partial whatever the CSV says.
        "complete": figures["complete"] and not running,
    }

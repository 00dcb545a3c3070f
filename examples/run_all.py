"""Run every example, Python and JS, against one throwaway LUKHAS server.

    ../.venv/bin/python run_all.py                  # what `make -C examples test` runs
    ../.venv/bin/python run_all.py dreams_basic     # only the examples with these names
    ../.venv/bin/python run_all.py --base-url http://127.0.0.1:8000/v1 --api-key lk-...

Without ``--base-url`` it starts the eval runner's ``LocalServer`` (its own
temporary var dir and database, a key with every scope, uvicorn on a free
port and a Celery worker for the dreams) and stops it at the end. Each
example gets ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``, as a user sets them;
the LUKHAS_API_KEY fallback is removed so the run proves the OPENAI_* path.
Prints PASS/FAIL per example and ``N passed, M failed``; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # evals.server lives in the repo, which is not installed as a package

from evals.server import LocalServer, ServerError  # noqa: E402

# The order a reader meets them in examples/README.md.
NAMES = (
    "responses_minimal",
    "responses_streaming",
    "responses_with_tools",
    "embeddings",
    "indexes_crud",
    "dreams_basic",
)
# A dream waits for the worker; everything else answers in a second or two.
TIMEOUT = 120.0
# The older key name, maybe set in a user's shell for their own server: the run must
# prove that OPENAI_API_KEY alone is enough.
_FALLBACKS = ("LUKHAS_API_KEY",)


@dataclass(frozen=True)
class Example:
    lang: str
    name: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.lang}/{self.path.name}"

    def command(self) -> list[str]:
        if self.lang == "python":
            return [sys.executable, str(self.path)]
        return [shutil.which("node") or "node", str(self.path)]


def examples(names: list[str]) -> list[Example]:
    """Every example with one of ``names``, Python first; a missing script is an error."""
    found = []
    for lang, suffix in (("python", ".py"), ("js", ".mjs")):
        for name in names:
            path = HERE / lang / f"{name}{suffix}"
            if not path.exists():
                raise SystemExit(f"run_all: {path.relative_to(REPO)} does not exist")
            found.append(Example(lang, name, path))
    return found


def run(example: Example, base_url: str, api_key: str) -> tuple[bool, float, str]:
    """(passed, seconds, output) of one example run as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k not in _FALLBACKS}
    env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY=api_key)
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - our interpreter or node, our own scripts
            example.command(),
            cwd=example.path.parent,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or "") + (exc.stderr or "")
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        return False, time.monotonic() - started, f"{output}\n(timed out after {TIMEOUT:g} s)"
    took = time.monotonic() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        output += f"\n(exit {done.returncode})"
    return done.returncode == 0, took, output


def run_all(chosen: list[Example], base_url: str, api_key: str, *, verbose: bool = False) -> int:
    """Run each example, print PASS/FAIL lines and the counts; the number that failed."""
    failed = 0
    for example in chosen:
        passed, took, output = run(example, base_url, api_key)
        print(f"{'PASS' if passed else 'FAIL'}  {example.label:<32} {took:5.1f} s", flush=True)
        failed += not passed
        if verbose or not passed:
            tail = "\n".join(output.strip().splitlines()[-25:])
            print("      " + tail.replace("\n", "\n      "), flush=True)
    print(f"{len(chosen) - failed} passed, {failed} failed", flush=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"examples to run (default: all of {NAMES})")
    parser.add_argument("--base-url", help="run against this server instead of a throwaway one")
    parser.add_argument("--api-key", default=os.environ.get("OPENAI_API_KEY"))
    parser.add_argument("-v", "--verbose", action="store_true", help="show every example's output")
    args = parser.parse_args(argv)
    chosen = examples(args.names or list(NAMES))
    if shutil.which("node") is None:
        print("run_all: node is not installed (apt-get install nodejs npm)", file=sys.stderr)
        return 2
    if args.base_url:
        if not args.api_key:
            print("run_all: --base-url needs --api-key (or OPENAI_API_KEY)", file=sys.stderr)
            return 2
        return 1 if run_all(chosen, args.base_url, args.api_key, verbose=args.verbose) else 0
    started = time.monotonic()
    try:
        with LocalServer(worker=True) as server:
            print(f"server: {server.base_url} (web + worker, {time.monotonic() - started:.1f} s)")
            return (
                1 if run_all(chosen, server.base_url, server.api_key, verbose=args.verbose) else 0
            )
    except ServerError as exc:
        print(f"run_all: the throwaway server did not start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

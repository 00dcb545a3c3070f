"""Run every benchmark module and write docs/benchmarks.md.

Each ``benchmarks/bench_<area>.py`` exposes ``run() -> list[dict]`` with rows
``name, value, unit, baseline_name, baseline_value, ratio, budget, ok``. The
baseline is measured in the same run, so the ratio survives a noisy machine
better than the absolute figure does.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import socket
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

# Before numpy loads: benchmarks measure what a web process runs (see asgi.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"


def _load(path: Path):
    # Benchmarks are files run by path, like pytest collects tests; the spec
    # loader keeps `importlib.import_module` confined to the MATRIZ registry.
    spec = importlib.util.spec_from_file_location(f"benchmarks.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Areas whose figures depend on the store behind them: measured once in
# embedded mode (in this process) and once more against Redis (a subprocess,
# since Django's settings are fixed per process).
REDIS_AREAS = ("guardian",)


def _redis_reachable(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1.5):
            return True
    except OSError:
        return False


def _run_with_redis(path: Path, redis_url: str) -> list[dict]:
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        f"import benchmarks.{path.stem} as bench\n"
        "print('BENCH-ROWS ' + json.dumps(bench.run()))\n"
    )
    env = {**os.environ, "REDIS_URL": redis_url}
    env.pop("LUKHAS_VAR_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH-ROWS "))
    return json.loads(line.removeprefix("BENCH-ROWS "))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.4g}"
    return "" if value is None else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("areas", nargs="*", help="only these bench_<area> modules")
    parser.add_argument("--out", default=str(REPO / "docs" / "benchmarks.md"))
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", ""),
        help=f"also measure {', '.join(REDIS_AREAS)} against this Redis",
    )
    args = parser.parse_args()

    modules = sorted(ROOT.glob("bench_*.py"))
    if args.areas:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in args.areas]
    sections = []
    failures = 0
    for path in modules:
        area = path.stem.removeprefix("bench_")
        print(f"== {area}", flush=True)
        started = time.perf_counter()
        try:
            rows = _load(path).run()
            error = None
        except Exception:
            rows, error = [], traceback.format_exc()
            failures += 1
            print(error, file=sys.stderr)
        elapsed = time.perf_counter() - started
        for row in rows:
            mark = "ok" if row.get("ok") else "OVER BUDGET"
            print(f"   {row['name']}: {_fmt(row['value'])} {row['unit']} ({mark})", flush=True)
        sections.append((area, rows, error, elapsed))
        if area in REDIS_AREAS and args.redis_url:
            if not _redis_reachable(args.redis_url):
                print(f"   (Redis at {args.redis_url} unreachable: no Redis figures)")
                continue
            print(f"== {area} (Redis)", flush=True)
            started = time.perf_counter()
            try:
                rows, error = _run_with_redis(path, args.redis_url), None
            except Exception:
                rows, error = [], traceback.format_exc()
                failures += 1
            for row in rows:
                mark = "ok" if row.get("ok") else "OVER BUDGET"
                print(f"   {row['name']}: {_fmt(row['value'])} {row['unit']} ({mark})", flush=True)
            sections.append((f"{area} (Redis)", rows, error, time.perf_counter() - started))

    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m benchmarks`); do not edit by hand.",
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {_machine()}",
        f"- commit: {_git_commit()}",
        "- command: `make bench`",
        "",
        "Each figure is compared with a baseline measured in the same run; the ratio",
        "is the figure that travels between machines.",
        "",
    ]
    for area, rows, error, elapsed in sections:
        lines += [f"## {area}", "", f"Ran in {elapsed:.1f} s.", ""]
        if error:
            lines += ["The benchmark failed:", "", "```", error.strip(), "```", ""]
            continue
        lines += [
            "| measure | value | baseline | baseline value | ratio | budget | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            lines.append(
                f"| {row['name']} | {_fmt(row['value'])} {row['unit']} "
                f"| {row.get('baseline_name') or ''} | {_fmt(row.get('baseline_value'))} "
                f"| {_fmt(row.get('ratio'))} | {row.get('budget') or ''} "
                f"| {'ok' if row.get('ok') else '**over budget**'} |"
            )
        lines.append("")
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")
    over = sum(1 for _, rows, _, _ in sections for row in rows if not row.get("ok"))
    if over:
        print(f"{over} measure(s) over budget", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""The coordination board with 2,000 tasks, 50 agents and 5,000 dependencies.

Rows (``name, value, unit, baseline_name, baseline_value, ratio, budget, ok``):

- the board page's server time (Django test client, the whole view: filters,
  graph analysis, three plotly figures, template) against a plain queryset
  listing of the same 2,000 tasks;
- the board filtered by one owner, against the same baseline;
- the board's SQL queries at 2,000 tasks against 20 tasks (must be equal);
- one page of the API list (50 tasks with their relations) against a plain
  listing of 50 tasks;
- importing a 2,000-task plan in one request (the board's upload is synchronous
  on purpose, see docs/coordination.md) against parsing it alone;
- a snapshot and its three export files.

Runs against a throwaway SQLite database: ``LUKHAS_VAR_DIR`` points at a temp
folder before settings load, and ``DATABASE_URL``/``REDIS_URL`` are dropped. If
Django is already set up in this process (another benchmark ran first), the
measurement runs in a subprocess so it never touches that database.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script too
from benchmarks.rows import row

REPO = Path(__file__).resolve().parent.parent
TASKS, AGENTS, DEPENDENCIES = 2000, 50, 5000


def median_ms(func: Callable[[], object], n: int, warm: int = 2) -> float:
    for _ in range(warm):
        func()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def _django_ready() -> bool:
    from django.apps import apps

    return apps.ready


def _setup() -> None:
    os.environ["LUKHAS_VAR_DIR"] = tempfile.mkdtemp(prefix="lukhas-bench-coord-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "lukhas_site.settings"
    os.environ["LUKHAS_LOG_LEVEL"] = "WARNING"
    for name in ("DATABASE_URL", "REDIS_URL", "LUKHAS_BROKER_URL", "LUKHAS_RESULT_BACKEND"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def _big_plan(n: int) -> str:
    lines = [
        "# Synthetic plan",
        "",
        "## Everything",
        "",
        "| # | Task | Owner | Risk | Time | Priority | Depends on |",
        "|---|------|-------|------|------|----------|------------|",
    ]
    owners = ["**Codex**", "**Copilot** + Jules", "Claude Code", "Gemini"]
    for i in range(1, n + 1):
        deps = f"IMP-{i - 1}" if i > 1 and i % 3 else ""
        lines.append(
            f"| IMP-{i} | Imported task {i} | {owners[i % 4]} | LOW | {1 + i % 3}h "
            f"| HIGH | {deps} |"
        )
    return "\n".join(lines) + "\n"


def _measure() -> list[dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from coordination.exports import export_bundle
    from coordination.models import Task
    from coordination.services import snapshot_take
    from coordination.services.plan_import import parse_upload, plan_import_data
    from tests.coordination.boards import BoardSize, build_board

    user = get_user_model().objects.create_superuser("bench", "bench@example.invalid", "x")
    client = Client()
    client.force_login(user)

    build_board(BoardSize(tasks=20, agents=5, dependencies=30), prefix="S")
    client.get("/coordination/")
    with CaptureQueriesContext(connection) as captured:
        client.get("/coordination/")
    # Counted now: the next request's request_started signal clears the query log.
    small_queries = len(captured.captured_queries)
    build_board(BoardSize(tasks=TASKS, agents=AGENTS, dependencies=DEPENDENCIES), prefix="L")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/coordination/")
    assert response.status_code == 200, response.status_code
    large_queries = len(captured.captured_queries)

    def listing() -> None:
        list(Task.objects.filter(key__startswith="L-").order_by("key"))

    baseline = median_ms(listing, 15)
    board = median_ms(lambda: client.get("/coordination/"), 10)
    owner = median_ms(lambda: client.get("/coordination/", {"owner": "L agent 007"}), 10)
    api = median_ms(lambda: client.get("/api/coordination/tasks", {"page_size": 50}), 15)
    page_baseline = median_ms(lambda: list(Task.objects.order_by("key")[:50]), 15)

    plan = _big_plan(TASKS)
    parse = median_ms(lambda: parse_upload(plan, source_name="big.md"), 3, warm=1)
    started = time.perf_counter()
    report = plan_import_data(data=plan, source_name="big.md", by="bench")
    imported = (time.perf_counter() - started) * 1000
    assert report.counts["created"] == TASKS, report.counts
    started = time.perf_counter()
    again = plan_import_data(data=plan, source_name="big.md", by="bench")
    reimported = (time.perf_counter() - started) * 1000
    assert again.counts["unchanged"] == TASKS, again.counts

    def snapshot() -> None:
        taken, _ = snapshot_take()
        export_bundle(snapshot=taken)

    exports = median_ms(snapshot, 3, warm=1)
    total = Task.objects.count()
    return [
        row(
            f"board page, {TASKS:,} tasks / {AGENTS} agents / {DEPENDENCIES:,} dependencies",
            board,
            "ms",
            f"plain queryset listing of the same {TASKS:,} tasks",
            baseline,
            "≤ 1,000 ms and ratio ≤ 10",
            board <= 1000 and board / baseline <= 10,
        ),
        row(
            "board page filtered by one owner (graph of every task still built)",
            owner,
            "ms",
            f"plain queryset listing of the same {TASKS:,} tasks",
            baseline,
            "≤ 500 ms",
            owner <= 500,
        ),
        row(
            f"board SQL queries at {TASKS + 20:,} tasks",
            float(large_queries),
            "queries",
            "board SQL queries at 20 tasks",
            float(small_queries),
            "ratio = 1 (does not grow with tasks)",
            large_queries == small_queries > 0,
        ),
        row(
            "GET /api/coordination/tasks, one page of 50 with relations",
            api,
            "ms",
            "plain queryset listing of 50 tasks",
            page_baseline,
            "≤ 150 ms",
            api <= 150,
        ),
        row(
            f"import a {TASKS:,}-task plan (one transaction, synchronous)",
            imported,
            "ms",
            "parsing the same plan only",
            parse,
            "≤ 20,000 ms (the upload form waits for it)",
            imported <= 20_000,
        ),
        row(
            f"re-import the same {TASKS:,}-task plan (all unchanged)",
            reimported,
            "ms",
            "parsing the same plan only",
            parse,
            "≤ 10,000 ms",
            reimported <= 10_000,
        ),
        row(
            f"snapshot + task_status.json, dashboard and daily report ({total:,} tasks)",
            exports,
            "ms",
            f"plain queryset listing of {TASKS:,} tasks",
            baseline,
            "≤ 5,000 ms",
            exports <= 5000,
        ),
    ]


def _run_in_subprocess() -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--json"],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench_coordination failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run() -> list[dict[str, Any]]:
    if _django_ready():
        return _run_in_subprocess()
    _setup()
    return _measure()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    rows = run()
    if "--json" in sys.argv:
        print(json.dumps(rows))
    else:
        for item in rows:
            ratio = f" ratio {item['ratio']:.2f}" if item["ratio"] else ""
            verdict = "ok" if item["ok"] else "OVER BUDGET"
            print(f"{item['name']}: {item['value']:.1f} {item['unit']}{ratio} ({verdict})")

"""How fast and how lean the pure plan parser is on a 2,000-task plan of every style.

Run: ``.venv/bin/python -m benchmarks.plan_parser_size [tasks]``. Not a ``bench_*``
module on purpose: it needs no database and is reported in the issue-15 notes, not in
docs/benchmarks.md. Peak memory is Python's allocations during the parse (tracemalloc).
"""

from __future__ import annotations

import sys
import time
import tracemalloc

from coordination.plan_parser import parse_plan


def mixed_plan(tasks: int) -> str:
    """A plan whose tasks are spread over the styles of issue 15, mojibake included."""
    per_style = tasks // 4
    lines = ["# Synthetic plan \u00e2\u20ac\u201d every style", "", "## Table", ""]
    lines += [
        "| ID | Task | Owner | Priority | Estimate | Depends on |",
        "|---|---|---|---|---|---|",
    ]
    for i in range(1, per_style + 1):
        deps = f"T{i - 1}" if i > 1 else ""
        lines.append(f"| T{i} | Table task {i} | Codex | HIGH | {1 + i % 3}h | {deps} |")
    lines += ["", "## Track H \u2014 Headings (Copilot)", ""]
    for i in range(1, per_style + 1):
        lines += [f"### H{i}) Heading task {i} (1 hour)", f"depends on Task T{i}", ""]
    lines += ["## Batch 1", "", "**Jules**:"]
    for i in range(1, per_style + 1):
        lines.append(f"- [ ] L{i} - List task {i} \u201a\u00fa\u00c5 (CRITICAL) 30min")
    lines += ["", "## Labels", ""]
    for i in range(1, tasks - 3 * per_style + 1):
        lines += [f"**B{i}) Bold task {i}**", "Owner: Codex. Estimate 2h.", ""]
    lines += ["## Pre-GA gates", "", "- [ ] p95 under 300 ms", ""]
    return "\n".join(lines) + "\n"


def main(tasks: int = 2000) -> None:
    text = mixed_plan(tasks)
    size = len(text.encode("utf-8"))
    parse_plan(text)  # warm up regex caches
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        plan = parse_plan(text)
        runs.append(time.perf_counter() - start)
    tracemalloc.start()
    parse_plan(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(runs)
    print(
        f"{len(plan.tasks)} tasks, {size:,} bytes: best of 3 {best:.3f} s, "
        f"{size / best:,.0f} bytes/s, peak {peak / 2**20:.1f} MiB (tracemalloc), "
        f"{len(plan.warnings)} warnings, {len(plan.inferences)} inferences, "
        f"{len(plan.gates)} gate(s)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)

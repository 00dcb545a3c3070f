"""Demo data: the shared LUKHAS plans, imported once by `make run`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from coordination.services import snapshot_take
from coordination.services.plan_import import PlanImportError, plan_import_data

FIXTURE_PLANS = Path(__file__).resolve().parent / "fixtures" / "plans"
# The copies of the shared plans among the fixtures (the others are broken on purpose).
FIXTURE_DEMO_PLANS = ("coordination-task-assignments.md", "t4-handoff-todo.md")


def demo_plan_files() -> list[Path]:
    """Every plan in SHARED_DIR/plans, or the fixtures' copies when that folder is absent."""
    shared = Path(settings.SHARED_DIR) / "plans"
    if shared.is_dir():
        return sorted(shared.glob("*.md"))
    return [FIXTURE_PLANS / name for name in FIXTURE_DEMO_PLANS]


def load_demo_plans(report: Callable[[str], None]) -> str:
    files = demo_plan_files()
    tasks, agents = 0, 0
    for path in files:
        try:
            result = plan_import_data(data=path.read_bytes(), source_name=path.name, by="demo-data")
        except PlanImportError as exc:  # one bad plan must not stop `make run`
            report(f"{path.name}: not imported: {exc.message}")
            continue
        tasks += result.counts["tasks"]
        agents += result.counts["agents_created"]
        report(result.summary())
    snapshot_take()
    folder = files[0].parent if files else "(no plans)"
    return f"{len(files)} plans, {tasks} tasks, {agents} agents from {folder}"

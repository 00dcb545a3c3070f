"""Plan import: both shared plans into the database, aliases, errors, re-import, dry run, CLI."""

# The plans contain en dashes and curly quotes; the tests quote them as they are.
# ruff: noqa: RUF001

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from coordination import services
from coordination.demo import load_demo_plans
from coordination.models import (
    AcceptanceItem,
    Agent,
    AgentAlias,
    Plan,
    Snapshot,
    Task,
    TaskDependency,
    TaskEvent,
    Track,
)
from coordination.services.plan_import import PlanImportError, plan_import_data
from lukhas_site.demo import demo_hooks
from tests.coordination.conftest import COORDINATION_PLAN, FIXTURE_PLANS, REPO_ROOT, T4_PLAN

pytestmark = pytest.mark.django_db

COORDINATION_KEYS = {
    *("#1", "#2", "#3", "#4", "#5"),
    *("A", "B", "C", "D", "E", "F", "G", "H"),
    *("E402-1", "Safe-1"),
    *("CC-1", "CC-2", "CC-3", "CC-4", "CC-5", "CC-6"),
}
T4_KEYS = {
    "1.finish-auto-wiring-via-registry",
    "1.constructor-aware-instantiation",
    "1.status-endpoint-for-ops",
    "2.per-stage-timeouts-fail-soft",
    "2.adaptive-node-selection",
    "3.top-k-adaptive-recall",
    "3.scheduled-folding",
    "4.stage-spans",
    "4.metrics",
    "5.pin-lock",
    "5.pip-audit-in-ci",
    "5.secret-rotation-scanners",
    "6.constellation-vs-constellation",
    "6.cognitive-ai-ai-cognitive",
    "6.context-files-sync",
    "7.e2e-matriz-loop",
    "7.chaos-fault-injection",
    "7.performance-budgets",
    "7.coverage-diff-gate",
    "8.plugin-discovery-in-ci",
    "8.lane-guard-report",
    "9.lane-assignment-readiness",
}


def import_file(path, **kwargs):
    return plan_import_data(data=path.read_bytes(), source_name=path.name, by="test", **kwargs)


def names(queryset) -> list[str]:
    return sorted(a.name for a in queryset)


def database_state() -> dict:
    """Everything an import could write, to prove that a failed or dry run wrote nothing."""
    return {
        model.__name__: sorted(model.objects.values_list("pk", flat=True))
        for model in (
            Task,
            Agent,
            AgentAlias,
            Track,
            Plan,
            AcceptanceItem,
            TaskDependency,
            TaskEvent,
        )
    }


@pytest.fixture
def both_plans():
    return import_file(COORDINATION_PLAN), import_file(T4_PLAN)


# --------------------------------------------------------------------------- the shared plans


def test_it_imports_both_shared_plans_with_their_exact_keys(both_plans):
    coordination, t4 = both_plans
    assert set(coordination.keys("created")) == COORDINATION_KEYS
    assert set(t4.keys("created")) == T4_KEYS
    assert set(Task.objects.values_list("key", flat=True)) == COORDINATION_KEYS | T4_KEYS
    assert (
        set(
            Task.objects.filter(source_plan__source_name=T4_PLAN.name).values_list("key", flat=True)
        )
        == T4_KEYS
    )
    assert Plan.objects.count() == 2
    plan = Plan.objects.get(source_name=COORDINATION_PLAN.name)
    assert plan.title == "Task Assignments - Claude Code Coordination Role"
    assert plan.repaired_mojibake
    assert plan.task_count == 21
    assert (plan.counts["created"], plan.counts["agents_created"]) == (21, 3)


def test_it_stores_the_fields_of_a_table_row(both_plans):
    task = Task.objects.get(key="#2")
    assert task.title == "Golden Token Kit + Fixtures"
    assert task.owner.name == "Codex"
    assert names(task.collaborators.all()) == ["Copilot"]  # "**Codex** + Copilot"
    assert task.reviewer.name == "Claude Code"
    assert task.requires_critical_review
    assert (task.priority, task.risk, task.status) == ("high", "low", "todo")
    assert (task.estimate_min_hours, task.estimate_max_hours) == (2, 2)
    assert task.files == ["tests/fixtures/tokens.py", "configs/guardian/policies.dev.yaml"]
    assert task.track.name == 'Top-5 "Do Now" Tasks (2–4 Hour Wins)'
    assert (task.source_plan.source_name, task.source_line) == (COORDINATION_PLAN.name, 26)
    b = Task.objects.get(key="B")
    assert (b.risk, b.requires_critical_review, b.reviewer.name) == ("medium", True, "Claude Code")
    hygiene = Task.objects.get(key="E402-1")
    assert hygiene.title == "E402 Batch 1 (≤20 files)"  # repaired from "â‰¤20"
    assert (hygiene.estimate_min_hours, hygiene.files) == (0.5, ["/tmp/e402_batch1.txt"])


def test_it_stores_a_task_section_with_acceptance_and_dependencies(both_plans):
    task = Task.objects.get(key="CC-1")
    assert task.title == "Pre-Audit Guardrails Checklist"
    assert task.owner.name == "Claude Code"
    assert task.priority == "critical"
    assert task.branch == "chore/claude/coordination-dashboard"
    assert (task.estimate_min_hours, task.estimate_max_hours) == (0.5, 0.5)
    assert list(task.acceptance_items.values_list("text", "done")) == [
        ("All 4 guardrails pass", False),
        ("Artifacts saved in `docs/audits/`", False),
        ("Checklist document committed", False),
    ]
    assert list(task.dependencies.values_list("key", flat=True)) == ["#1"]
    assert sorted(Task.objects.get(key="CC-5").dependencies.values_list("key", flat=True)) == [
        "#1",
        "#3",
        "#4",
    ]
    assert list(Task.objects.get(key="B").dependents.values_list("key", flat=True)) == ["CC-3"]
    assert TaskDependency.objects.filter(from_plan=True).count() == 6


def test_it_stores_the_checkbox_tasks_of_the_t4_handoff(both_plans):
    wiring = Task.objects.get(key="1.finish-auto-wiring-via-registry")
    assert wiring.owner is None  # sections 1-4 name nobody
    assert wiring.track.name == "Registry & Lane Isolation (Day 0)"
    assert (wiring.priority, wiring.risk) == (None, None)  # unknown: the plan does not say
    assert wiring.acceptance_items.count() == 1
    pin = Task.objects.get(key="5.pin-lock")
    assert pin.owner.name == "Jules"
    # "CODEX" is Codex: the same agent as in the other plan, through its alias.
    assert names(pin.collaborators.all()) == ["Claude Code", "Codex"]
    readiness = Task.objects.get(key="9.lane-assignment-readiness")
    assert readiness.acceptance_items.count() == 5


def test_it_maps_every_spelling_of_an_agent_to_one_agent(both_plans):
    coordination, t4 = both_plans
    assert names(Agent.objects.all()) == ["Claude Code", "Codex", "Copilot", "Jules"]
    assert [a["name"] for a in coordination.agents_created] == ["Codex", "Claude Code", "Copilot"]
    assert [a["name"] for a in t4.agents_created] == ["Jules"]
    assert Task.objects.filter(owner__name="Codex").count() == 13
    assert Task.objects.filter(collaborators__name="Codex").count() == 10  # sections 5, 7-9


def test_it_resolves_aliases_and_reports_unknown_agents(db):
    services.agent_create(name="Codex", aliases=["@codex"])
    plan = (
        "# Plan\n\n"
        "| # | Task | Owner | Reviewer |\n"
        "|---|------|-------|----------|\n"
        "| 1 | One | Codex | Claude Code |\n"
        "| 2 | Two | ChatGPT CODEX | @claude-code |\n"
        "| 3 | Three | @codex | Dana Scully |\n"
        "| 4 | Four | **Codex** + GitHub Copilot | |\n"
    )
    report = plan_import_data(data=plan, source_name="aliases.md", by="test")
    codex = Agent.objects.get(name="Codex")
    owned = set(Task.objects.filter(owner=codex).values_list("key", flat=True))
    assert owned == {"#1", "#2", "#3", "#4"}
    assert names(Task.objects.get(key="#4").collaborators.all()) == ["Copilot"]
    assert Task.objects.get(key="#2").reviewer.name == "Claude Code"
    assert report.agents_created == [
        {"name": "Claude Code", "written": "Claude Code", "kind": "coding_agent"},
        {"name": "Dana Scully", "written": "Dana Scully", "kind": "person"},
        {"name": "Copilot", "written": "GitHub Copilot", "kind": "coding_agent"},
    ]


# --------------------------------------------------------------------------- what stops an import


def test_it_stops_at_a_garbled_table_and_writes_nothing(both_plans):
    before = database_state()
    with pytest.raises(PlanImportError) as caught:
        import_file(FIXTURE_PLANS / "garbled-plan.md")
    assert caught.value.line == 12
    assert caught.value.message == "line 12: table row has 5 cells but the header has 8"
    assert caught.value.details == {"line": 12}
    assert database_state() == before


def test_it_rolls_back_everything_when_a_plan_closes_a_cycle(db):
    plan = (
        "# Plan\n\n"
        "### Task A: First\n\n**Owner**: Gemini\n**Depends on**: Task B\n\n"
        "### Task B: Second\n\n**Depends on**: Task A\n"
    )
    with pytest.raises(PlanImportError) as caught:
        plan_import_data(data=plan, source_name="cycle.md", by="test")
    assert caught.value.line == 8  # task B, whose dependency closes the cycle
    assert "that would close the cycle A → B → A" in caught.value.message
    # Tasks A and B and the agent Gemini had been written before the cycle showed.
    assert database_state() == {name: [] for name in database_state()}


def test_it_names_the_line_of_bytes_that_are_not_utf8(db):
    with pytest.raises(PlanImportError) as caught:
        plan_import_data(data=b"# Plan\n\n- [ ] caf\xe9\n", source_name="latin1.md", by="test")
    assert caught.value.message == "line 3: byte 0xe9 is not UTF-8; save the plan as UTF-8"
    assert not Task.objects.exists()


def test_it_repairs_mojibake_before_importing(db):
    report = import_file(FIXTURE_PLANS / "mojibake-plan.md")
    assert report.repaired_mojibake
    first = Task.objects.get(key="#1")
    assert first.title == "Fix “smart quotes” in SDK docs"
    assert (first.estimate_min_hours, first.estimate_max_hours) == (2, 4)  # "2â€“4 Hour"
    assert Task.objects.get(key="#2").title == "Cut RC — Guardian ≥ v2"
    review = Task.objects.get(key="R-1")
    assert review.status == "in_progress"  # one of its two boxes is ticked
    assert list(review.acceptance_items.values_list("text", "done")) == [
        ("Changelog reviewed — no “TODO” left", True),
        ("Tag pushed 🛡️", False),
    ]
    assert Track.objects.filter(name="Quick Wins (2–4 Hour Slices)").exists()


def test_it_imports_a_damaged_copy_of_a_plan_like_the_clean_one(db):
    damaged = T4_PLAN.read_text(encoding="utf-8").encode("utf-8").decode("cp1254", "ignore")
    report = plan_import_data(data=damaged.encode("utf-8"), source_name=T4_PLAN.name, by="t")
    assert report.repaired_mojibake
    assert set(report.keys("created")) == T4_KEYS
    scanners = Task.objects.get(key="5.secret-rotation-scanners")
    assert scanners.acceptance_items.first().text.startswith("“secrets present” dashboards = 0")


# --------------------------------------------------------------------------- re-import, dry run


def test_it_reimports_a_plan_without_changing_anything(both_plans):
    before = database_state()
    again = import_file(COORDINATION_PLAN)
    assert again.counts["created"] == again.counts["updated"] == 0
    assert set(again.keys("unchanged")) == COORDINATION_KEYS
    assert again.agents_created == []
    after = database_state()
    assert after == before  # not one event, alias or dependency more
    assert Plan.objects.get(source_name=COORDINATION_PLAN.name).import_count == 2


def test_it_updates_what_a_revised_plan_changes(both_plans):
    revised = (
        COORDINATION_PLAN.read_text(encoding="utf-8")
        .replace(
            "| **1** | Shadow-Diff Harness | **Codex** | LOW | 2-3h |",
            "| **1** | Shadow-Diff Harness | **Copilot** | HIGH | 3-5h |",
        )
        .replace(
            "- âœ… Checklist document committed",
            "- âœ… Checklist document committed\n- âœ… Dashboard link posted",
        )
    )
    report = plan_import_data(data=revised, source_name=COORDINATION_PLAN.name, by="test")
    assert report.keys("updated") == ["#1", "CC-1"]
    changes = {c.key: c.changes for c in report.tasks if c.action == "updated"}
    assert changes["#1"] == {
        "owner": ["Codex", "Copilot"],
        "risk": ["low", "high"],
        "estimate_min_hours": [2.0, 3.0],
        "estimate_max_hours": [3.0, 5.0],
    }
    assert changes["CC-1"]["acceptance"][1][-1] == "[ ] Dashboard link posted"
    first = Task.objects.get(key="#1")
    assert (first.owner.name, first.risk, first.estimate_max_hours) == ("Copilot", "high", 5.0)
    owner_event = TaskEvent.objects.get(task=first, field="owner")
    assert (owner_event.from_value, owner_event.to_value, owner_event.actor) == (
        "Codex",
        "Copilot",
        "test",
    )
    # The revision is the same plan (key space): one Plan row, now with the new checksum.
    assert first.source_plan.checksum == report.checksum
    plan = Plan.objects.get(source_name=COORDINATION_PLAN.name)
    assert (plan.slug, plan.import_count) == ("coordination-task-assignments", 2)


def test_it_keeps_the_progress_made_on_the_board_when_reimporting(both_plans, alice):
    task = Task.objects.get(key="CC-2")
    services.task_transition(task=task, to="in_progress", by=alice)
    item = task.acceptance_items.first()
    services.acceptance_item_set(item=item, done=True, by=alice)
    metrics = Task.objects.get(key="4.metrics")
    services.task_update(task=metrics, by=alice, owner=Agent.objects.get(name="Jules"))
    report = import_file(COORDINATION_PLAN)
    assert report.counts["updated"] == 0
    import_file(T4_PLAN)
    task.refresh_from_db()
    item.refresh_from_db()
    assert (task.status, item.done) == ("in_progress", True)
    assert Task.objects.get(key="4.metrics").owner.name == "Jules"  # the plan names nobody


def test_it_moves_a_task_the_plan_marks_done_through_the_rules(db, alice):
    plan = "# Plan\n\n## Sprint\n\n- [ ] **CC-7**: Wire it\n- [ ] **CC-8**: Test it\n"
    plan_import_data(data=plan, source_name="sprint.md", by="test")
    done = plan.replace("- [ ] **CC-7**", "- [x] **CC-7**")
    report = plan_import_data(data=done, source_name="sprint.md", by="test")
    assert report.tasks[0].changes == {"status": ["todo", "done"]}
    statuses = TaskEvent.objects.filter(task__key="CC-7", field="status").order_by("id")
    assert [(e.from_value, e.to_value) for e in statuses] == [
        ("todo", "in_progress"),
        ("in_progress", "done"),
    ]


def test_it_reports_a_dry_run_without_writing(both_plans):
    before = database_state()
    revised = COORDINATION_PLAN.read_text(encoding="utf-8").replace(
        "| **A** | Idempotency Redis E2E | **Codex** |",
        "| **A** | Idempotency Redis E2E | **Jules** |",
    )
    revised += "\n### Task CC-7: Ship the dashboard\n\n**Owner**: Gemini\n**Time**: 2h\n"
    report = plan_import_data(
        data=revised, source_name=COORDINATION_PLAN.name, by="test", dry_run=True
    )
    assert database_state() == before
    assert report.dry_run and report.plan_id is None
    assert report.keys("created") == ["CC-7"]
    assert report.keys("updated") == ["A"]
    assert {c.key: c.changes for c in report.tasks if c.action == "updated"} == {
        "A": {"owner": ["Codex", "Jules"]}
    }
    assert report.agents_created == [
        {"name": "Gemini", "written": "Gemini", "kind": "coding_agent"}
    ]
    assert "would import 22 tasks (1 created, 1 updated, 20 unchanged)" in report.summary()


def test_it_dry_runs_an_empty_database_like_a_real_import(db):
    dry = import_file(COORDINATION_PLAN, dry_run=True)
    assert not Task.objects.exists() and not Agent.objects.exists()
    real = import_file(COORDINATION_PLAN)
    assert dry.to_dict()["changes"] == real.to_dict()["changes"]
    assert dry.counts == real.counts


# --------------------------------------------------------------------------- the command


def test_it_prints_the_summary_and_every_parsed_task_as_json(db, capsys):
    call_command("import_plan", str(COORDINATION_PLAN), "--format", "json")
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["counts"] == {
        "tasks": 21,
        "created": 21,
        "updated": 0,
        "unchanged": 0,
        "agents_created": 3,
        "tracks_created": 4,
        "warnings": 2,
        "inferences": 6,
        "conflicts": 0,
    }
    assert len(summary["inferences"]) == 6 and summary["inferences"][0].startswith("line ")
    assert [t["key"] for t in summary["tasks"]][:3] == ["#1", "#2", "#3"]
    cc1 = next(t for t in summary["tasks"] if t["key"] == "CC-1")
    assert cc1["depends_on"] == ["#1"]
    assert cc1["acceptance"][0] == {"text": "All 4 guardrails pass", "done": False}
    assert summary["dry_run"] is False
    assert "import coordination-task-assignments.md" in captured.err  # the tqdm bar
    assert Task.objects.count() == 21


def test_it_dry_runs_from_the_command_line(both_plans, capsys):
    revised_path = FIXTURE_PLANS / "t4-handoff-todo.md"
    call_command("import_plan", str(revised_path), "--dry-run")
    out = capsys.readouterr().out
    assert "would import 22 tasks (0 created, 0 updated, 22 unchanged)" in out
    assert "dry run: nothing was written" in out


def test_it_exits_non_zero_with_the_line_of_a_garbled_plan(db, tmp_path):
    with pytest.raises(CommandError, match=r"garbled-plan\.md: line 12: table row has 5 cells"):
        call_command("import_plan", str(FIXTURE_PLANS / "garbled-plan.md"))
    assert not Task.objects.exists()
    # As a shell sees it: the parse error comes before any database access.
    result = subprocess.run(
        [sys.executable, "manage.py", "import_plan", str(FIXTURE_PLANS / "garbled-plan.md")],
        cwd=REPO_ROOT,
        env={**os.environ, "LUKHAS_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "garbled-plan.md: line 12: table row has 5 cells but the header has 8" in result.stderr
    assert result.stdout == ""


def test_it_refuses_a_file_that_does_not_exist(db):
    with pytest.raises(CommandError, match=r"no-such-plan\.md: no such file"):
        call_command("import_plan", "no-such-plan.md")


# --------------------------------------------------------------------------- demo data


def test_it_registers_the_shared_plans_as_demo_data():
    assert "coordination-plans" in [hook.name for hook in demo_hooks()]


def test_it_loads_the_shared_plans_as_demo_data(db, settings, tmp_path):
    settings.SHARED_DIR = tmp_path / "absent"  # falls back to the fixtures' copies
    lines: list[str] = []
    summary = load_demo_plans(lines.append)
    assert summary.startswith("2 plans, 43 tasks, 4 agents from ")
    assert set(Task.objects.values_list("key", flat=True)) == COORDINATION_KEYS | T4_KEYS
    assert Snapshot.objects.count() == 1
    assert len(lines) == 2


def test_it_loads_from_the_shared_folder_and_skips_a_plan_it_cannot_read(db, settings, tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "a-good.md").write_bytes(COORDINATION_PLAN.read_bytes())
    (plans / "b-garbled.md").write_bytes((FIXTURE_PLANS / "garbled-plan.md").read_bytes())
    settings.SHARED_DIR = tmp_path
    lines: list[str] = []
    assert load_demo_plans(lines.append).startswith("2 plans, 21 tasks")
    assert (
        lines[1]
        == "b-garbled.md: not imported: line 12: table row has 5 cells but the header has 8"
    )

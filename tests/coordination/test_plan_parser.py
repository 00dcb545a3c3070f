"""The markdown plan parser, on the plans the LUKHAS team really writes.

Expected values were read off the plans by hand (line numbers with ``cat -n``), not
copied from parser output: when one of these fails, check the plan before the test.
"""

# En dashes and mis-encoded text are what these plans contain; the tests quote them as is.
# ruff: noqa: RUF001

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from coordination.plan_parser import (
    AcceptanceItem,
    ParsedPlan,
    PlanParseError,
    normalize_agent_name,
    parse_estimate,
    parse_plan,
    parse_plan_bytes,
    plan_to_dict,
    repair_mojibake,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PLANS = REPO_ROOT / "coordination" / "fixtures" / "plans"
# shared/ sits beside the repository (CI clones main with shared/ next to it).
SHARED_PLANS = Path(__file__).resolve().parents[3] / "shared" / "plans"
REAL_PLANS = ("coordination-task-assignments.md", "t4-handoff-todo.md")

COORDINATION = "coordination-task-assignments.md"
T4 = "t4-handoff-todo.md"


def read_plan(name: str) -> ParsedPlan:
    return parse_plan((PLANS / name).read_text(encoding="utf-8"), source_name=name)


@pytest.fixture(scope="module")
def coordination_plan() -> ParsedPlan:
    return read_plan(COORDINATION)


@pytest.fixture(scope="module")
def t4_plan() -> ParsedPlan:
    return read_plan(T4)


def error_of(text: str) -> PlanParseError:
    with pytest.raises(PlanParseError) as caught:
        parse_plan(text)
    return caught.value


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("name", REAL_PLANS)
def test_it_keeps_byte_identical_copies_of_the_shared_plans(name: str) -> None:
    if not SHARED_PLANS.is_dir():
        pytest.skip(f"{SHARED_PLANS} is not beside this checkout")
    assert (PLANS / name).read_bytes() == (SHARED_PLANS / name).read_bytes()


# --------------------------------------------------------------------------- coordination plan


def test_it_finds_every_task_of_the_coordination_plan(coordination_plan: ParsedPlan) -> None:
    # 3 tables (#1-#5, A-H, E402-1 + Safe-1) and six "### Task CC-n" sections. The
    # "Execute FIRST", "Critical Review Required" and "Time Estimates" lists only
    # mention tasks again and must not add or duplicate any.
    assert [t.key for t in coordination_plan.tasks] == [
        *("#1", "#2", "#3", "#4", "#5"),
        *("A", "B", "C", "D", "E", "F", "G", "H"),
        *("E402-1", "Safe-1"),
        *("CC-1", "CC-2", "CC-3", "CC-4", "CC-5", "CC-6"),
    ]


def test_it_reads_the_title_behind_a_stray_prefix(coordination_plan: ParsedPlan) -> None:
    # Line 1 is "coo# Task Assignments - ...": not a heading to markdown.
    assert coordination_plan.title == "Task Assignments - Claude Code Coordination Role"
    assert any(w.startswith("line 1: stray 'coo'") for w in coordination_plan.warnings)
    assert coordination_plan.coordinator == "Claude Code"


@pytest.mark.parametrize(
    ("key", "owner", "collaborators", "risk", "estimate", "priority", "files", "line"),
    [
        ("#1", "Codex", [], "low", (2, 3), "high", ["scripts/shadow_diff.py", "Makefile"], 25),
        (
            "#2",
            "Codex",
            ["Copilot"],
            "low",
            (2, 2),
            "high",
            ["tests/fixtures/tokens.py", "configs/guardian/policies.dev.yaml"],
            26,
        ),
        (
            "#5",
            "Copilot",
            [],
            "low",
            (2, 3),
            "high",
            [".github/workflows/", "scripts/rc_soak_sentinel.py"],
            29,
        ),
        ("B", "Codex", [], "medium", (3, 3), "high", ["matriz/core/", "lukhas/adapters/"], 36),
        ("D", "Copilot", [], "low", (1, 2), "low", ["docs/examples/", "sdk/"], 38),
        ("F", "Codex", [], "low", (1, 1), "medium", [".github/workflows/", "tests/contract/"], 40),
        ("E402-1", "Codex", [], "low", (0.5, 0.5), "medium", ["/tmp/e402_batch1.txt"], 48),
        (
            "Safe-1",
            "Codex",
            [],
            "low",
            (0.25, 0.25),
            "low",
            ["lukhas/adapters/openai/", "lukhas/core/reliability/"],
            49,
        ),
    ],
)
def test_it_reads_the_rows_of_task_tables(
    coordination_plan: ParsedPlan,
    key: str,
    owner: str,
    collaborators: list[str],
    risk: str,
    estimate: tuple[float, float],
    priority: str,
    files: list[str],
    line: int,
) -> None:
    task = coordination_plan.task(key)
    assert task.owner == owner
    assert task.collaborators == collaborators
    assert task.risk == risk
    assert (task.estimate_min_hours, task.estimate_max_hours) == estimate
    assert task.priority == priority
    assert task.files == files
    assert task.source_line == line
    assert task.reviewer == "Claude Code"  # the "Claude Role" column: Claude is the coordinator
    assert task.status == "todo"


def test_it_splits_an_owner_from_a_collaborator(coordination_plan: ParsedPlan) -> None:
    # "**Codex** + Copilot": the bold name owns the task.
    task = coordination_plan.task("#2")
    assert (task.owner, task.collaborators) == ("Codex", ["Copilot"])
    assert task.title == "Golden Token Kit + Fixtures"


def test_it_reads_a_task_section(coordination_plan: ParsedPlan) -> None:
    task = coordination_plan.task("CC-1")
    assert task.title == "Pre-Audit Guardrails Checklist"
    assert task.track == "Claude Code Execution Tasks (Direct Ownership)"
    assert task.owner == "Claude Code"  # named by the "## ... Claude Code Execution Tasks" heading
    assert task.priority == "critical"
    assert (task.estimate_min_hours, task.estimate_max_hours) == (0.5, 0.5)
    assert task.branch == "chore/claude/coordination-dashboard"
    assert task.files == [
        "docs/audits/pre-audit/GUARDRAILS_CHECKLIST.md",
        "docs/audits/live/<timestamp>/state_sweep.json",
        "docs/audits/shadow/<timestamp>/",
    ]
    assert task.acceptance == [
        ("All 4 guardrails pass", False),
        ("Artifacts saved in `docs/audits/`", False),
        ("Checklist document committed", False),
    ]
    assert "Priority: CRITICAL (blocks GPT Pro research audit)" in task.notes
    assert "Deliverables:" in task.notes
    assert task.source_line == 57


def test_it_does_not_take_decorative_ticks_for_done(coordination_plan: ParsedPlan) -> None:
    # CC-1 and CC-5 carry a ✅ in their heading and every Accept item starts with ✅,
    # yet CC-5 validates tasks #1, #3 and #4 that have not started: decoration.
    for key in ("CC-1", "CC-5"):
        task = coordination_plan.task(key)
        assert task.status == "todo"
        assert not any(item.done for item in task.acceptance)
    assert {t.status for t in coordination_plan.tasks} == {"todo"}


def test_it_reads_section_estimates_in_minutes_and_hours(coordination_plan: ParsedPlan) -> None:
    minutes = {k: coordination_plan.task(k).estimate_max_hours for k in ("CC-2", "CC-3", "CC-5")}
    assert minutes == {"CC-2": 1.0, "CC-3": 1.0, "CC-5": pytest.approx(20 / 60, abs=1e-4)}


def test_it_keeps_a_branch_only_when_the_plan_names_one(coordination_plan: ParsedPlan) -> None:
    review = coordination_plan.task("CC-3")
    assert review.branch == ""
    assert "Branch: Review PR from Codex" in review.notes
    assert coordination_plan.task("CC-6").branch == "main"


def test_it_marks_critical_reviews(coordination_plan: ParsedPlan) -> None:
    # B: "**CRITICAL REVIEW**" in the Claude Role column (line 36) and line 242;
    # #2: listed under "Critical Review Required (Claude Code Gate)" (line 258).
    critical = {t.key for t in coordination_plan.tasks if t.requires_critical_review}
    assert critical == {"B", "#2"}
    assert coordination_plan.task("B").reviewer == "Claude Code"
    assert coordination_plan.task("#2").reviewer == "Claude Code"
    # Claude Code's own work is not reviewed by Claude Code.
    assert coordination_plan.task("CC-3").reviewer == ""


def test_it_extracts_dependencies(coordination_plan: ParsedPlan) -> None:
    depends = {t.key: t.depends_on for t in coordination_plan.tasks if t.depends_on}
    assert depends == {
        "CC-1": ["#1"],  # "depends on Task #1 completion", "(after Task #1)"
        "CC-3": ["B"],  # "after Task B completion by Codex"
        "CC-4": ["#2"],  # "after Task #2 completion by Codex"
        "CC-5": ["#1", "#3", "#4"],  # heading "(Post-Tasks #1, #3, #4)"
    }


def test_it_repairs_the_mojibake_of_the_coordination_plan(coordination_plan: ParsedPlan) -> None:
    assert coordination_plan.repaired_mojibake
    assert coordination_plan.tracks == [
        'Top-5 "Do Now" Tasks (2–4 Hour Wins)',
        "High-Impact Quick Wins (Pick 4–6 in Parallel)",
        "Hygiene Slices (≤20 Files per Slice)",
        "Claude Code Execution Tasks (Direct Ownership)",
    ]
    assert coordination_plan.task("E402-1").title == "E402 Batch 1 (≤20 files)"
    assert coordination_plan.task("CC-3").title == "Critical Review - Circuit-Breaker to MATRIZ"
    assert coordination_plan.task("CC-6").acceptance[-1] == (
        "Coverage ≥75% (or documented waivers)",
        False,
    )
    text = (PLANS / COORDINATION).read_text(encoding="utf-8")
    repaired, changed = repair_mojibake(text)
    lines = repaired.split("\n")
    assert lines[5] == "## 🎯 Claude Code Role Definition"
    assert lines[106] == "### Task CC-3: Critical Review - Circuit-Breaker to MATRIZ 🔍"
    assert lines[133] == "### Task CC-4: Guardian Policy Fixtures Review 🛡️"
    assert lines[284] == "## 📝 Daily Coordination Checklist"
    assert len(lines) == len(text.split("\n"))
    assert 6 in changed and 1 not in changed
    assert not any(mark in repaired for mark in ("â€", "ğŸ", "Â·", "âœ"))


# --------------------------------------------------------------------------- T4 handoff plan

T4_KEYS = [
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
]


def test_it_finds_every_task_of_the_t4_handoff(t4_plan: ParsedPlan) -> None:
    # 21 "* [ ]" items in sections 1-8, plus section 9, which assigns agents and lists
    # promotion criteria but no checkbox.
    assert [t.key for t in t4_plan.tasks] == T4_KEYS
    assert t4_plan.title == "CLAUDE CODE HANDOFF — T4 / 0.01% TODO"
    assert t4_plan.tracks == [
        "Registry & Lane Isolation (Day 0)",
        "MATRIZ Orchestrator Hardening",
        "Memory System Refinement",
        "Observability (OTel + Prometheus)",
        "Security & Supply Chain",
        "Naming & Docs Consistency",
        "Test Strategy Upgrades",
        "CI/CD Enhancements",
        "Lane Assignment Readiness (quick pass)",
    ]


def test_it_reads_a_checkbox_item(t4_plan: ParsedPlan) -> None:
    task = t4_plan.task("1.finish-auto-wiring-via-registry")
    assert task.title == "Finish auto-wiring via registry"
    assert task.track == "Registry & Lane Isolation (Day 0)"
    assert task.status == "todo"
    assert task.source_line == 8
    assert task.goal == (
        "eliminate dynamic cross-lane imports; make plugin wiring constructor-aware and observable."
    )
    assert task.acceptance == [
        (
            "`pytest -q tests/ast/test_no_importlib_outside_allowed.py` → green; "
            "`/_system/plugins` shows all required kinds loaded.",
            False,
        )
    ]
    assert "Use `auto_discover()` at service boot" in task.notes
    assert (task.priority, task.risk, task.files, task.depends_on) == (None, None, [], [])
    assert (task.estimate_min_hours, task.estimate_max_hours) == (None, None)


@pytest.mark.parametrize(
    ("key", "owner", "collaborators", "line"),
    [
        ("5.pin-lock", "Jules", ["CODEX", "Claude Code"], 124),
        ("6.context-files-sync", "CODEX", ["Claude Code", "Copilot"], 158),
        ("7.coverage-diff-gate", "Claude Code", ["CODEX", "Jules"], 187),
        ("8.lane-guard-report", "Jules", ["CODEX", "Claude Code"], 206),
        ("9.lane-assignment-readiness", "Jules", ["CODEX", "Claude Code"], 213),
    ],
)
def test_it_takes_owners_from_an_agents_line(
    t4_plan: ParsedPlan, key: str, owner: str, collaborators: list[str], line: int
) -> None:
    # "**Agents:** Jules (primary), CODEX (CI/CD), Claude Code (policies)"; without a
    # "(primary)" the first agent named owns the task (section 6).
    task = t4_plan.task(key)
    assert (task.owner, task.collaborators, task.source_line) == (owner, collaborators, line)
    assert task.notes.startswith("Agents: ")


def test_it_leaves_a_task_unassigned_when_the_plan_names_no_one(t4_plan: ParsedPlan) -> None:
    # Sections 1-4 have no Agents line; the title "CLAUDE CODE HANDOFF" is not an owner.
    unassigned = [t.key for t in t4_plan.tasks if not t.owner]
    assert unassigned == T4_KEYS[:9]
    owner_warnings = [w.split(":")[0] for w in t4_plan.warnings if "no owner" in w]
    assert owner_warnings == ["line 8", "line 44", "line 73", "line 89"]


def test_it_imports_a_section_that_assigns_agents_without_checkboxes(t4_plan: ParsedPlan) -> None:
    task = t4_plan.task("9.lane-assignment-readiness")
    assert task.title == "Lane Assignment Readiness (quick pass)"
    assert task.acceptance == [
        ("Interface stable + covered (≥90% module coverage)", False),
        ("Observability (spans + metrics) present", False),
        ("p95 ≤ budget under CI perf mode", False),
        ("No cross-lane imports; registry-loaded", False),
        ("Rollback flag present", False),
    ]
    assert "Promote now: Core, Memory, Identity, Governance/Guardian." in task.notes


def test_it_reads_a_plan_damaged_by_a_windows_editor_like_the_clean_one(
    t4_plan: ParsedPlan,
) -> None:
    # UTF-8 read as Windows-1254 with the undefined bytes dropped, as happened to the
    # coordination plan: "—" -> "â€”", "“" -> "â€œ", "”" -> "â€" (its 0x9D byte lost).
    text = (PLANS / T4).read_text(encoding="utf-8")
    damaged = text.encode("utf-8").decode("cp1254", errors="ignore")
    assert "â€" in damaged
    plan = parse_plan(damaged, source_name=T4)
    assert plan.repaired_mojibake
    assert plan_to_dict(plan)["tasks"] == plan_to_dict(t4_plan)["tasks"]
    assert plan.title == t4_plan.title


def test_it_leaves_clean_utf8_alone(t4_plan: ParsedPlan) -> None:
    assert not t4_plan.repaired_mojibake
    text = (PLANS / T4).read_text(encoding="utf-8")
    assert repair_mojibake(text) == (text, [])
    # Curly quotes the author typed stay curly.
    assert (
        t4_plan.task("5.secret-rotation-scanners")
        .acceptance[0]
        .text.startswith("“secrets present” dashboards = 0")
    )


# --------------------------------------------------------------------------- test fixtures


def test_it_reports_the_line_of_a_garbled_table_row() -> None:
    with pytest.raises(PlanParseError) as caught:
        read_plan("garbled-plan.md")
    assert caught.value.line == 12
    assert caught.value.message == "table row has 5 cells but the header has 8"
    assert str(caught.value) == "line 12: table row has 5 cells but the header has 8"


def test_it_repairs_a_mojibake_plan() -> None:
    plan = read_plan("mojibake-plan.md")
    assert plan.repaired_mojibake
    assert plan.title == "Release Plan — Sprint 7"
    assert plan.coordinator == "Claude Code"
    assert plan.tracks == ["Quick Wins (2–4 Hour Slices)", "Reviews"]
    first = plan.task("#1")
    assert first.title == "Fix “smart quotes” in SDK docs"
    assert (first.estimate_min_hours, first.estimate_max_hours) == (2, 4)  # "2â€“4 Hour"
    assert (first.owner, first.collaborators) == ("Codex", ["Copilot"])
    second = plan.task("#2")
    assert (second.title, second.risk, second.priority) == (
        "Cut RC — Guardian ≥ v2",
        "medium",
        "critical",
    )
    assert second.files == ["guardian/", "scripts/cut_rc.sh"]
    review = plan.task("R-1")
    assert review.acceptance == [
        ("Changelog reviewed — no “TODO” left", True),
        ("Tag pushed 🛡️", False),
    ]
    assert review.status == "in_progress"  # one of two boxes ticked
    assert review.depends_on == ["#2"]
    assert review.owner == "Claude Code"


@pytest.mark.parametrize(
    ("damaged", "repaired"),
    [
        ("a â€” b", "a — b"),
        ('a â€" b', "a — b"),  # the ” was uncurled after the damage
        ("ğŸ¯ Goal", "🎯 Goal"),  # its 0x8E byte was dropped
        ("2â€“4 Hour", "2–4 Hour"),
        ("â‰¤20 files", "≤20 files"),
        ("ğŸ›¡ï¸ Guardian", "🛡️ Guardian"),
        ("Â±30min", "±30min"),
        ("âœ… done", "✅ done"),
        ("“Constellation” — ≥90% ✔", "“Constellation” — ≥90% ✔"),  # clean: untouched
        ("plain ascii", "plain ascii"),
    ],
)
def test_it_repairs_mojibake(damaged: str, repaired: str) -> None:
    assert repair_mojibake(damaged)[0] == repaired


# --------------------------------------------------------------------------- estimates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2-3h", (2, 3)),
        ("2–4 Hour", (2, 4)),
        ("2 - 4 hours", (2, 4)),
        ("2 to 3 hours", (2, 3)),
        ("30min", (0.5, 0.5)),
        ("15min", (0.25, 0.25)),
        ("1h", (1, 1)),
        ("1 hour", (1, 1)),
        ("43-56 hours", (43, 56)),
        ("30 minutes", (0.5, 0.5)),
        ("20 minutes", (0.3333, 0.3333)),
        ("90m", (1.5, 1.5)),
        ("1h 30min", (1.5, 1.5)),
        ("30min-1h", (0.5, 1)),
        ("2.5h", (2.5, 2.5)),
        ("~2h", (2, 2)),
        ("**2h**", (2, 2)),
        ("2h (est.)", (2, 2)),
        ("", (None, None)),
        ("TBD", (None, None)),
        ("—", (None, None)),
    ],
)
def test_it_parses_estimates(text: str, expected: tuple[float | None, float | None]) -> None:
    assert parse_estimate(text) == expected


@pytest.mark.parametrize("text", ["soon", "3", "2d", "1 week", "3-2h", "2-3-4h", "h"])
def test_it_refuses_estimates_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="estimate"):
        parse_estimate(text)


def test_it_reports_the_line_of_an_unreadable_time_cell() -> None:
    error = error_of(
        "# Plan\n\n"
        "| # | Task | Owner | Time |\n"
        "|---|------|-------|------|\n"
        "| 1 | Ship it | Codex | 2h |\n"
        "| 2 | Ship more | Codex | soon |\n"
    )
    assert (error.line, error.message) == (6, "cannot read estimate 'soon'")


# --------------------------------------------------------------------------- agents, fields


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Codex", "codex"),
        ("**Codex**", "codex"),
        ("@codex", "codex"),
        ("CODEX (CI/CD)", "codex"),
        ("ChatGPT Codex", "codex"),
        ("GitHub Copilot", "copilot"),
        ("Copilot", "copilot"),
        ("claude-code", "claude code"),
        ("Claude Code", "claude code"),
        ("claude_code", "claude code"),
        ("  Claude   Code ", "claude code"),
        ("Jules (primary)", "jules"),
        ("Claude", "claude"),
    ],
)
def test_it_normalizes_agent_names(raw: str, key: str) -> None:
    assert normalize_agent_name(raw) == key


def table_plan(column: str, value: str) -> str:
    return (
        "# Plan\n\n"
        f"| # | Task | Owner | {column} |\n"
        "|---|------|-------|---|\n"
        f"| 1 | Ship it | Codex | {value} |\n"
    )


@pytest.mark.parametrize(
    ("value", "priority"),
    [
        ("**CRITICAL**", "critical"),
        ("**HIGH**", "high"),
        ("Medium", "medium"),
        ("**LOW**", "low"),
        ("P0", "critical"),
        ("P2", "medium"),
    ],
)
def test_it_reads_priorities(value: str, priority: str) -> None:
    assert parse_plan(table_plan("Priority", value)).task("#1").priority == priority


@pytest.mark.parametrize(
    ("value", "risk"),
    [("LOW", "low"), ("MEDIUM", "medium"), ("**HIGH**", "high"), ("VARIABLE", "variable")],
)
def test_it_reads_risks(value: str, risk: str) -> None:
    assert parse_plan(table_plan("Risk", value)).task("#1").risk == risk


def test_it_warns_about_a_priority_it_does_not_know() -> None:
    plan = parse_plan(table_plan("Priority", "whenever"))
    assert plan.task("#1").priority is None
    assert plan.warnings == ["line 5: cannot read priority 'whenever'; left empty"]


def test_it_reads_checkbox_lists() -> None:
    plan = parse_plan(
        "# Sprint plan\n"
        "\n"
        "## Sprint 1\n"
        "\n"
        "**Owner**: **Codex** + Copilot\n"
        "\n"
        "- [x] Wire the breaker\n"
        "- [ ] **Write docs** @jules\n"
        "* [ ] Add metrics\n"
        "  - **Time**: 2-3h\n"
        "  - **Files**: `soak/metrics.py`, `ops/rules.yml`\n"
        "  - **DoD:** dashboards render\n"
        "- [ ] **CC-7**: Review the breaker (after Task wire-the-breaker)\n"
        "- [~] Add metrics\n"
    )
    keys = [t.key for t in plan.tasks]
    assert keys == [
        "sprint-1.wire-the-breaker",
        "sprint-1.write-docs",
        "sprint-1.add-metrics",
        "CC-7",
        "sprint-1.add-metrics-2",
    ]
    assert [t.status for t in plan.tasks] == ["done", "todo", "todo", "todo", "in_progress"]
    wired, docs, metrics = plan.tasks[0], plan.tasks[1], plan.tasks[2]
    assert (wired.owner, wired.collaborators) == ("Codex", ["Copilot"])
    assert (docs.owner, docs.collaborators) == ("jules", [])
    assert (metrics.estimate_min_hours, metrics.estimate_max_hours) == (2, 3)
    assert metrics.files == ["soak/metrics.py", "ops/rules.yml"]
    assert metrics.acceptance == [AcceptanceItem("dashboards render", False)]
    assert plan.task("CC-7").title == "Review the breaker (after Task wire-the-breaker)"
    assert any(
        "line 14: another task is already called 'sprint-1.add-metrics'" in w for w in plan.warnings
    )
    # Keys made from titles are never silent (issue 15): one warning for the section.
    assert plan.warnings[0].startswith("line 7: 4 task(s) under 'Sprint 1' have no id")
    assert plan.warnings[0].line == 7


def test_it_reads_dependency_fields_and_warns_about_unknown_tasks() -> None:
    plan = parse_plan(
        "# Plan\n\n"
        "### Task A: First\n\n**Time**: 1h\n\n"
        "### Task B: Second\n\n**Depends on**: Task A, Task Z\n"
        "**Notes**: needs CC-9 and waits for A\n"
    )
    assert plan.task("B").depends_on == ["A"]
    dependency_warnings = [w for w in plan.warnings if "depends on" in w]
    assert dependency_warnings == ["line 9: task B depends on 'Z', which this plan does not define"]


# --------------------------------------------------------------------------- merging, errors


def test_it_merges_a_table_row_with_a_later_section() -> None:
    plan = parse_plan(
        "# Plan\n\n"
        "| # | Task | Owner | Time | Priority |\n"
        "|---|------|-------|------|----------|\n"
        "| **1** | Shadow-Diff Harness | **Codex** | 2-3h | **HIGH** |\n"
        "\n"
        "### Task 1: Shadow-Diff Harness (details)\n"
        "\n"
        "**Branch**: `feat/shadow-diff`\n"
        "**Priority**: **HIGH**\n"
        "\n"
        "**Accept**:\n"
        "- [x] report written\n"
    )
    assert [t.key for t in plan.tasks] == ["#1"]
    task = plan.task("#1")
    assert (task.title, task.owner, task.branch, task.priority) == (
        "Shadow-Diff Harness",
        "Codex",
        "feat/shadow-diff",
        "high",
    )
    assert (task.estimate_min_hours, task.estimate_max_hours, task.source_line) == (2, 3, 5)
    assert task.acceptance == [("report written", True)]
    assert task.status == "done"


def test_it_refuses_a_task_defined_twice_with_conflicting_content() -> None:
    error = error_of(
        "# Plan\n\n"
        "| # | Task | Owner |\n"
        "|---|------|-------|\n"
        "| 1 | Shadow-Diff Harness | Codex |\n"
        "\n"
        "### Task #1: Shadow-Diff Harness\n"
        "\n"
        "**Owner**: Copilot\n"
    )
    assert error.line == 7
    assert error.message == "task #1 is defined again with owner 'Copilot' but line 5 says 'Codex'"


def test_it_refuses_a_row_with_more_cells_than_its_header() -> None:
    error = error_of(table_plan("Files", "`a|b.py` | extra"))
    assert error.line == 5
    assert error.message.startswith("table row has 5 cells but the header has 4")


def test_it_refuses_a_task_table_markdown_does_not_recognise() -> None:
    error = error_of("# Plan\n\n| # | Task | Owner |\n|---|------|\n| 1 | Ship it | Codex |\n")
    assert (error.line, error.message) == (
        4,
        "table separator row has 2 cells but the header has 3",
    )


def test_it_refuses_an_unreadable_key() -> None:
    error = error_of(table_plan("Risk", "LOW").replace("| 1 |", "| one two |"))
    assert error.line == 5
    assert "'one two' is not a task key" in error.message


def test_it_refuses_binary_content() -> None:
    assert error_of("# Plan\n\n- [ ] ship\x00it\n").line == 3
    with pytest.raises(PlanParseError) as caught:
        parse_plan_bytes(b"# Plan\n\n- [ ] caf\xe9\n")
    assert (caught.value.line, caught.value.message) == (
        3,
        "byte 0xe9 is not UTF-8; save the plan as UTF-8",
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# Just a title\n\nSome prose, no tasks.\n"])
def test_it_refuses_a_plan_without_tasks(text: str) -> None:
    error = error_of(text)
    assert error.line == 1
    assert error.message.startswith("no tasks found")


def test_it_ignores_headings_and_checkboxes_inside_code_blocks() -> None:
    plan = parse_plan("```bash\n# not a title\n- [ ] not a task\n```\n\n- [ ] a real task\n")
    assert [t.key for t in plan.tasks] == ["a-real-task"]
    assert plan.title == ""


# --------------------------------------------------------------------------- determinism, json


@pytest.mark.parametrize("name", [*REAL_PLANS, "mojibake-plan.md"])
def test_it_parses_the_same_way_every_time(name: str) -> None:
    data = (PLANS / name).read_bytes()
    first, second = read_plan(name), read_plan(name)
    assert plan_to_dict(first) == plan_to_dict(second)
    assert first.checksum == second.checksum == hashlib.sha256(data).hexdigest()
    from_bytes = parse_plan_bytes(data, source_name=name)
    assert plan_to_dict(from_bytes) == plan_to_dict(first)


def test_it_serialises_a_plan_to_json(coordination_plan: ParsedPlan) -> None:
    exported = json.loads(json.dumps(plan_to_dict(coordination_plan)))
    assert exported["title"] == coordination_plan.title
    assert [t["key"] for t in exported["tasks"]] == [t.key for t in coordination_plan.tasks]
    first = exported["tasks"][15]
    assert first["key"] == "CC-1"
    assert first["acceptance"][0] == {"text": "All 4 guardrails pass", "done": False}
    assert first["depends_on"] == ["#1"]
    assert first["estimate_min_hours"] == 0.5


# --------------------------------------------------------------------------- corpus (issue 15)

# One synthetic plan per style (tests/coordination/plans/<style>.md, written for these
# tests) and its expected import next to it, compared field by field so a failure names
# the style, the task and the field. The expected values were checked against each
# plan's text by hand (ids, owners, priorities, estimates, dependencies, acceptance,
# gates, done): when one fails, read the plan before changing the JSON.
CORPUS = Path(__file__).resolve().parent / "plans"
STYLES = sorted(p.stem for p in CORPUS.glob("*.md"))
TASK_FIELDS = (
    "key_derived",
    "title",
    "track",
    "owner",
    "collaborators",
    "priority",
    "risk",
    "estimate_hours",
    "depends_on",
    "unresolved_depends_on",
    "acceptance",
    "notes",
    "status",
    "done",
    "source_line",
)


def corpus_plan(style: str) -> tuple[ParsedPlan, dict]:
    text = (CORPUS / f"{style}.md").read_text(encoding="utf-8")
    expected = json.loads((CORPUS / f"{style}.expected.json").read_text(encoding="utf-8"))
    return parse_plan(text, source_name=f"{style}.md"), expected


def task_view(task) -> dict:
    return {
        "key_derived": task.key_derived,
        "title": task.title,
        "track": task.track,
        "owner": task.owner,
        "collaborators": task.collaborators,
        "priority": task.priority,
        "risk": task.risk,
        "estimate_hours": [task.estimate_min_hours, task.estimate_max_hours],
        "depends_on": task.depends_on,
        "unresolved_depends_on": task.unresolved_depends_on,
        "acceptance": [[a.text, a.done] for a in task.acceptance],
        "notes": task.notes,
        "status": task.status,
        "done": task.done,
        "source_line": task.source_line,
    }


def test_the_corpus_has_a_plan_per_style() -> None:
    assert {
        "table-ids",
        "heading-ids",
        "list-ids",
        "bold-labels",
        "done-sections",
        "not-tasks",
        "mojibake-cp1252",
        "mojibake-macroman",
    } <= set(STYLES)
    for style in STYLES:
        assert (CORPUS / f"{style}.expected.json").is_file(), style


@pytest.mark.parametrize("style", STYLES)
def test_the_corpus_keys_are_the_ids_as_written(style: str) -> None:
    plan, expected = corpus_plan(style)
    assert [t.key for t in plan.tasks] == [t["key"] for t in expected["tasks"]]
    assert plan.title == expected["title"]


@pytest.mark.parametrize("field_name", TASK_FIELDS)
@pytest.mark.parametrize("style", STYLES)
def test_the_corpus_task_fields(style: str, field_name: str) -> None:
    plan, expected = corpus_plan(style)
    got = {t.key: task_view(t)[field_name] for t in plan.tasks}
    want = {t["key"]: t[field_name] for t in expected["tasks"]}
    assert got == want


@pytest.mark.parametrize("style", STYLES)
def test_the_corpus_gates_warnings_and_inferences(style: str) -> None:
    plan, expected = corpus_plan(style)
    gates = [
        {"title": g.title, "line": g.line, "items": [[i.text, i.checked, i.line] for i in g.items]}
        for g in plan.gates
    ]
    assert gates == expected["gates"]
    assert [str(w) for w in plan.warnings] == expected["warnings"]
    assert [str(i) for i in plan.inferences] == expected["inferences"]


@pytest.mark.parametrize("style", STYLES)
def test_the_corpus_never_puts_mojibake_in_a_key_or_slug(style: str) -> None:
    plan, _ = corpus_plan(style)
    for task in plan.tasks:
        assert task.key.isascii() and " " not in task.key, task.key


def test_checklists_in_code_blocks_templates_and_examples_are_never_tasks() -> None:
    plan, _ = corpus_plan("not-tasks")
    assert [t.key for t in plan.tasks] == ["R1", "R2"]
    everything = " ".join(t.title + t.notes for t in plan.tasks)
    for junk in ("tests pass", "heredoc", "also not a task", "acceptance item", "link the issue"):
        assert junk not in everything
    assert [g.title for g in plan.gates] == [
        "Pre-GA gates",
        "Acceptance criteria (Phase 2 complete)",
    ]


def test_mojibake_of_both_kinds_is_repaired_in_titles_notes_and_tracks() -> None:
    cp1252, _ = corpus_plan("mojibake-cp1252")
    assert cp1252.title == "Ingestion plan — cp1252"
    assert cp1252.tracks == ["Track “Alpha” — ingestion (Codex)"]
    assert cp1252.task("K1").notes == "Notes: café ✅ checked by hand"
    mac, _ = corpus_plan("mojibake-macroman")
    assert mac.title == "Observability plan — Mac Roman"
    assert mac.task("M1").title == "Latency panel ≤ 300 ms"
    assert mac.task("M1").notes == "Notes: ✅ café verified"
    # U+201A U+00C4 alone is no complete UTF-8 sequence: left as written, and said so.
    assert mac.task("M4").title == "Broken beyond repair \u201a\u00c4 here"
    assert any(w.line == 9 and "cannot be repaired" in w for w in mac.warnings)


def mac_roman(text: str) -> str:
    """UTF-8 read as Mac Roman, the Apple logo (lead byte 0xF0 of emoji) dropped as tools do."""
    return text.encode("utf-8").decode("mac_roman").replace("\uf8ff", "")


def windows_1252(text: str) -> str:
    """UTF-8 read as Windows-1252, its five undefined bytes read as Latin-1."""
    return "".join(
        bytes((b,)).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8")
    )


@pytest.mark.parametrize(
    "clean",
    ["✅ done", "📋 Tasks", "p95 ≤ 300 ms", "A1 → A2", "café", "— dash", "“quoted”", "🚀 ship"],
)
@pytest.mark.parametrize("damage", [mac_roman, windows_1252], ids=["mac-roman", "windows-1252"])
def test_it_repairs_both_kinds_of_mojibake_line_by_line(damage, clean: str) -> None:
    damaged = damage(clean)
    assert damaged != clean
    assert repair_mojibake(f"{damaged}\nnext line") == (f"{clean}\nnext line", [1])


@pytest.mark.parametrize("clean", ["café — naïve ÄÖÜ straße", "Résumé… ok", "≤ 300 ms → ✅"])
def test_it_leaves_clean_text_alone(clean: str) -> None:
    assert repair_mojibake(clean) == (clean, [])


def test_plan_notes_are_strings_with_a_line() -> None:
    plan, _ = corpus_plan("heading-ids")
    warning = plan.warnings[0]
    assert isinstance(warning, str)
    assert (warning.line, warning.message) == (
        13,
        "task E2 blocks 'E3', which this plan does not define",
    )
    assert json.loads(json.dumps(plan_to_dict(plan)))["warning_details"][0]["line"] == 13


def test_a_done_word_marks_a_heading_or_label_task_done_but_a_lone_tick_does_not() -> None:
    plan = parse_plan(
        "# P\n\n## S\n\n- [ ] X1 - thing ✅\n- [ ] X2 - other DONE\n\n"
        "**D1) Dry run** ✅ COMPLETED\n\n**D2) Wet run** ✅\n"
    )
    assert [(t.key, t.title, t.status) for t in plan.tasks] == [
        ("X1", "thing", "todo"),
        ("X2", "other DONE", "todo"),  # the checkbox says todo; the title stays as written
        ("D1", "Dry run", "done"),
        ("D2", "Wet run", "todo"),
    ]
    assert "line 8: task D1 is done: its title says 'COMPLETED'" in plan.inferences

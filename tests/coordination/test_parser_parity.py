"""The plan parser (pure Python) and the models speak the same enums: a parsed value always fits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coordination import models
from coordination.plan_parser import PRIORITIES, RISKS, STATUSES, parse_plan, plan_to_dict
from coordination.plan_parser import text as plan_text


def test_it_has_exactly_the_models_statuses_priorities_and_risks():
    assert tuple(models.TaskStatus.values) == STATUSES
    assert tuple(models.Priority.values) == PRIORITIES
    assert tuple(models.Risk.values) == RISKS


def test_it_only_ever_reads_values_the_models_accept():
    """Every word the parser maps (checkboxes, status words, priorities, risks) is a choice."""
    assert set(plan_text.CHECKBOX_STATUS.values()) <= set(models.TaskStatus.values)
    assert {status for _, status in plan_text._STATUS_PATTERNS} == set(models.TaskStatus.values)
    assert set(plan_text._PRIORITY_WORDS.values()) == set(models.Priority.values)
    assert set(plan_text._RISK_WORDS.values()) == set(models.Risk.values)


# The shared plans import exactly as before issue 15: the snapshots in plans/shared/ are
# what main's parser returned for them (plan_to_dict) before the parser learnt the new
# styles. Only two things may differ, both asked for by the issue: an unknown priority or
# risk is None instead of "", and new warnings may be added (keys derived from titles).
SHARED_SNAPSHOTS = Path(__file__).resolve().parent / "plans" / "shared"
FIXTURES = Path(__file__).resolve().parents[2] / "coordination" / "fixtures" / "plans"
SHARED = ("coordination-task-assignments", "t4-handoff-todo")


def _today(name: str) -> dict:
    return json.loads((SHARED_SNAPSHOTS / f"{name}.today.json").read_text(encoding="utf-8"))


def _now(name: str) -> dict:
    text = (FIXTURES / f"{name}.md").read_text(encoding="utf-8")
    return plan_to_dict(parse_plan(text, source_name=f"{name}.md"))


@pytest.mark.parametrize("name", SHARED)
def test_the_shared_plans_keep_every_task_and_field(name: str) -> None:
    today, now = _today(name), _now(name)
    assert [t["key"] for t in now["tasks"]] == [t["key"] for t in today["tasks"]]
    for before, after in zip(today["tasks"], now["tasks"], strict=True):
        for field_name, value in before.items():
            if field_name in ("priority", "risk"):
                value = value or None
            assert after[field_name] == value, (before["key"], field_name)
    for field_name in ("title", "checksum", "repaired_mojibake", "coordinator", "tracks"):
        assert now[field_name] == today[field_name], field_name


@pytest.mark.parametrize("name", SHARED)
def test_the_shared_plans_keep_every_warning(name: str) -> None:
    today, now = _today(name), _now(name)
    assert set(today["warnings"]) <= set(now["warnings"])
    added = set(now["warnings"]) - set(today["warnings"])
    assert all("have no id" in w for w in added), added

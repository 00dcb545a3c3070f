"""The plan parser (pure Python) and the models speak the same enums: a parsed value always fits."""

from __future__ import annotations

from coordination import models
from coordination.plan_parser import PRIORITIES, RISKS, STATUSES
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

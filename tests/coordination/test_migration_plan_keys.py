"""The data migration that makes plans key spaces (0004), run forwards on old rows.

django-test-migrations is not in the lock, so the test drives Django's own
``MigrationExecutor``: migrate back to 0003, write rows as the old schema held
them (two revisions of one plan, a plan-less task), migrate to 0004 and check.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("coordination", "0003_plan_upload")]
AFTER = [("coordination", "0004_plan_key_spaces")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_it_merges_the_revisions_of_a_plan_and_keeps_plan_less_tasks():
    old = _migrate(BEFORE)
    try:
        Plan = old.get_model("coordination", "Plan")
        Task = old.get_model("coordination", "Task")
        first = Plan.objects.create(source_name="Sprint Plan.md", checksum="a" * 64)
        second = Plan.objects.create(source_name="Sprint Plan.md", checksum="b" * 64)
        other = Plan.objects.create(source_name="t4-handoff.md", checksum="c" * 64)
        Plan.objects.filter(pk=second.pk).update(import_count=3)
        Task.objects.create(key="#1", title="from rev 1", source_plan=first)
        Task.objects.create(key="#2", title="from rev 2", source_plan=second)
        Task.objects.create(key="A", title="t4", source_plan=other)
        Task.objects.create(key="CC-9", title="made by hand")

        new = _migrate(AFTER)
        Plan = new.get_model("coordination", "Plan")
        Task = new.get_model("coordination", "Task")
        plans = {p.slug: p for p in Plan.objects.all()}
        assert set(plans) == {"sprint-plan", "t4-handoff"}
        sprint = plans["sprint-plan"]
        assert sprint.checksum == "b" * 64  # the latest revision is the one kept
        assert sprint.import_count == 4
        rows = Task.objects.values_list("key", "source_plan__slug")
        assert set(rows) == {
            ("#1", "sprint-plan"),
            ("#2", "sprint-plan"),
            ("A", "t4-handoff"),
            ("CC-9", None),
        }
        # The new key space: another plan may now hold #1.
        Task.objects.create(key="#1", title="t4's own #1", source_plan=plans["t4-handoff"])
        assert Task.objects.filter(key="#1").count() == 2
    finally:
        _migrate(_latest())


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()

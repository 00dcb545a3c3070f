"""Coordination fixtures: a small task factory, a coordinator with rights, the shared plans."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from coordination import services
from coordination.models import AcceptanceItem, Agent, Task

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_PLANS = REPO_ROOT / "coordination" / "fixtures" / "plans"
COORDINATION_PLAN = FIXTURE_PLANS / "coordination-task-assignments.md"
T4_PLAN = FIXTURE_PLANS / "t4-handoff-todo.md"


def grant(user, *codenames: str) -> None:
    """Give ``user`` coordination permissions (e.g. 'change_task') and drop the perm cache."""
    perms = Permission.objects.filter(
        content_type__app_label="coordination", codename__in=codenames
    )
    assert perms.count() == len(codenames), codenames
    user.user_permissions.add(*perms)
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


@pytest.fixture
def coordinator(alice):
    """alice the coordinator: reads and changes tasks (not staff, not superuser)."""
    grant(alice, "view_task", "change_task", "add_task", "view_agent")
    return alice


@pytest.fixture
def make_task(db):
    counter = iter(range(1, 100_000))

    def make(key: str | None = None, **fields) -> Task:
        accept = fields.pop("acceptance", [])
        deps = fields.pop("depends_on", [])
        key = key or f"T-{next(counter)}"
        fields.setdefault("title", f"Task {key}")
        task = services.task_create(by="system", key=key, **fields)
        for position, (text, done) in enumerate(accept, start=1):
            AcceptanceItem.objects.create(task=task, text=text, done=done, position=position)
        for blocker in deps:
            services.task_add_dependency(blocker=blocker, blocked=task, by="system")
        return task

    return make


@pytest.fixture
def codex(db) -> Agent:
    return services.agent_resolve("Codex").agent


@pytest.fixture
def claude_code(db) -> Agent:
    return services.agent_resolve("Claude Code").agent

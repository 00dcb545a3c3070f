"""The demo loader: a few hundred memories from the shared plans, loaded once."""

from __future__ import annotations

import pytest

from lukhas_site.services import demo_data_load
from matriz.demo import DEMO_INDEX, DEMO_OWNER, demo_plan_files, load_demo_memories
from matriz.models import MemoryIndexModel
from matriz.runtime import run_query

pytestmark = pytest.mark.django_db


def test_it_builds_a_demo_index_from_the_shared_plans():
    summary = load_demo_memories(lambda line: None)
    index = MemoryIndexModel.objects.get(owner=DEMO_OWNER, name=DEMO_INDEX)
    assert 200 <= index.item_count <= 600
    assert summary.startswith(f"{index.item_count} memories in demo/lukhas-plans")
    item = index.items.filter(metadata__kind="heading").first()
    assert item.metadata["source"] in {p.name for p in demo_plan_files()}
    assert "ğŸ" not in "".join(index.items.values_list("text", flat=True))  # mojibake repaired
    result = run_query(text="circuit breaker for MATRIZ", indexes=[DEMO_INDEX], owner=DEMO_OWNER)
    assert result.status in {"ok", "degraded"}
    assert "Circuit-Breaker" in result.answer


def test_it_loads_again_without_changing_anything():
    load_demo_memories(lambda line: None)
    index = MemoryIndexModel.objects.get(owner=DEMO_OWNER, name=DEMO_INDEX)
    summary = load_demo_memories(lambda line: None)
    again = MemoryIndexModel.objects.get(pk=index.pk)
    assert (again.item_count, again.version) == (index.item_count, index.version)
    assert "(0 new, 0 updated)" in summary


def test_it_is_registered_and_run_once_by_make_run():
    first = {r.name: r for r in demo_data_load()}
    assert first["matriz-memory"].loaded
    second = {r.name: r for r in demo_data_load()}
    assert not second["matriz-memory"].loaded


def test_it_falls_back_to_the_fixture_plans(settings, tmp_path):
    settings.SHARED_DIR = tmp_path / "nowhere"
    files = demo_plan_files()
    assert [f.name for f in files] == ["coordination-task-assignments.md", "t4-handoff-todo.md"]
    assert all(f.is_file() for f in files)

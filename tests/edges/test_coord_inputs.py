"""Findings 8 and 11 of issue 10: bounded integers, malformed multipart, the CLI import's size."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from coordination.models import Plan, Task
from tests.coordination import conftest as coordination_fixtures
from tests.coordination.conftest import COORDINATION_PLAN

pytestmark = pytest.mark.django_db

# The coordination fixtures, shared with tests/coordination.
coordinator = coordination_fixtures.coordinator
make_task = coordination_fixtures.make_task

API = "/api/coordination"
HUGE = str(10**30)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.bench_coordination import _big_plan  # noqa: E402


@pytest.fixture
def reader(api_key_headers):
    return api_key_headers(scopes=["ops:read"])


@pytest.fixture
def writer(api_key_headers):
    return api_key_headers(scopes=["ops:read", "ops:write"])


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/tasks", {"page": HUGE}, "page"),
        ("/tasks", {"page": "9223372036854775807"}, "page"),
        ("/tasks", {"page": "0"}, "page"),
        ("/tasks", {"page_size": HUGE}, "page_size"),
        ("/snapshots", {"page": HUGE}, "page"),
        ("/snapshots", {"page_size": "0"}, "page_size"),
        ("/tasks", {"owner": HUGE}, "owner"),
        ("/tasks", {"track": HUGE}, "track"),
    ],
)
def test_it_bounds_every_integer_query_parameter(client, reader, make_task, path, params, field):
    make_task("A")
    response = client.get(f"{API}{path}", params, headers=reader)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["param"] == field, error


def test_it_still_answers_the_last_allowed_page(client, reader, make_task):
    make_task("A")
    response = client.get(f"{API}/tasks", {"page": "100000"}, headers=reader)
    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 1}


def test_it_bounds_the_acceptance_item_id(client, writer, make_task):
    make_task("A")
    response = client.patch(
        f"{API}/tasks/A/acceptance/{HUGE}",
        {"done": True},
        content_type="application/json",
        headers=writer,
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"]["param"] == "item_id"


def test_it_answers_a_multipart_body_without_a_boundary_with_400(client, writer):
    response = client.generic(
        "POST",
        f"{API}/imports",
        b'--x\r\nContent-Disposition: form-data; name="file"\r\n\r\n# Plan\r\n--x--\r\n',
        content_type="multipart/form-data",
        headers=writer,
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_multipart"
    assert "boundary" in error["message"]


def test_it_ignores_a_huge_owner_id_on_the_board_page(client, alice, make_task):
    from tests.coordination.conftest import grant

    grant(alice, "view_task")
    client.force_login(alice)
    make_task("A")
    response = client.get("/coordination/", {"owner": HUGE})
    assert response.status_code == 200
    assert "owner:" in response.content.decode()  # said as a filter it could not read


# --------------------------------------------------------------------------- the CLI import


def test_it_refuses_a_plan_over_the_limit_and_writes_nothing(tmp_path, settings):
    settings.COORDINATION_UPLOAD_MAX_BYTES = 10_000
    plan = tmp_path / "big.md"
    plan.write_text(_big_plan(300))
    assert plan.stat().st_size > 10_000
    with pytest.raises(CommandError) as refused:
        call_command("import_plan", str(plan), verbosity=0)
    assert str(refused.value).startswith("big.md: ")
    assert "larger than the limit of 10,000 bytes" in str(refused.value)
    assert "--max-bytes" in str(refused.value)
    assert not Task.objects.exists() and not Plan.objects.exists()


def test_it_refuses_a_plan_over_an_explicit_limit_too(tmp_path):
    with pytest.raises(CommandError, match="limit of 1,000 bytes"):
        call_command("import_plan", str(COORDINATION_PLAN), "--max-bytes", "1000", verbosity=0)
    assert not Task.objects.exists()


def test_it_imports_a_big_plan_under_a_raised_limit_in_chunks(tmp_path, settings):
    """1,200 tasks against SQLite's oldest bound-variable limit (999): no IN () passes it."""
    settings.COORDINATION_UPLOAD_MAX_BYTES = 10_000
    plan = tmp_path / "big.md"
    plan.write_text(_big_plan(1200))
    connection.ensure_connection()
    raw = connection.connection
    if not isinstance(raw, sqlite3.Connection):
        pytest.skip("the bound-variable limit is SQLite's")
    old = raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    try:
        call_command("import_plan", str(plan), "--max-bytes", "200000", verbosity=0)
        assert Task.objects.count() == 1200
        # Again: every task exists, so the importer reads them all back (in chunks).
        call_command("import_plan", str(plan), "--max-bytes", "200000", verbosity=0)
    finally:
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, old)
    assert Plan.objects.get().import_count == 2


def test_it_turns_a_database_error_into_a_message_and_rolls_back(tmp_path, monkeypatch):
    """Whatever the database refuses mid-import: a CommandError with the line, nothing kept."""
    from django.db import DatabaseError

    from coordination.services import plan_import

    real = plan_import.task_create
    calls = {"n": 0}

    def refuse_the_third(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise DatabaseError("value too long for type character varying(64)")
        return real(**kwargs)

    monkeypatch.setattr(plan_import, "task_create", refuse_the_third)
    plan = tmp_path / "plan.md"
    plan.write_text(_big_plan(5))
    with pytest.raises(CommandError) as refused:
        call_command("import_plan", str(plan), verbosity=0)
    assert str(refused.value) == (
        "plan.md: line 9 (task IMP-3): the database refused the import (value too long for "
        "type character varying(64)); nothing was imported"
    )
    assert not Task.objects.exists() and not Plan.objects.exists()

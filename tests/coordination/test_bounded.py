"""Bounded imports (issue 15 item 8): one size limit everywhere, real database errors
turned into a clear message with nothing half-written.

The command line's limit is tested in tests/edges/test_coord_inputs.py, the job
of large plans in test_import_job.py. Here: the upload form and the API refuse a
plan over ``LUKHAS_COORD_UPLOAD_MAX_BYTES`` with the same ``plan_too_large``
error, and on PostgreSQL a value the database refuses (DataError) and a lock it
cannot get in time (OperationalError) stop the import, written nowhere.
"""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from coordination.models import Agent, Plan, PlanUpload, Task
from coordination.services.plan_import import PlanStoreError, plan_import_data
from tests.services import require_postgres

API = "/api/coordination"


def plan_of(n: int) -> bytes:
    rows = "".join(f"| B-{i} | Task number {i} |\n" for i in range(1, n + 1))
    return f"# Bounded\n\n| # | Task |\n|---|---|\n{rows}".encode()


@pytest.mark.django_db
def test_the_api_and_the_form_refuse_a_plan_over_the_limit(
    client, coordinator, api_key_headers, settings
):
    settings.COORDINATION_UPLOAD_MAX_BYTES = 1_000
    data = plan_of(60)
    assert len(data) > 1_000
    writer = api_key_headers(scopes=["ops:read", "ops:write"])
    response = client.post(
        f"{API}/imports", {"file": SimpleUploadedFile("big.md", data)}, headers=writer
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "plan_too_large"
    assert error["message"] == (
        f"The plan is {len(data):,} bytes; the limit is 1,000 "
        "(LUKHAS_COORD_UPLOAD_MAX_BYTES). Nothing was imported."
    )
    client.force_login(coordinator)
    page = client.post(reverse("coordination-import"), {"file": SimpleUploadedFile("big.md", data)})
    assert page.status_code == 400
    assert "the limit is 1,000 (LUKHAS_COORD_UPLOAD_MAX_BYTES)" in page.content.decode()
    assert not Task.objects.exists() and not Plan.objects.exists()
    assert not PlanUpload.objects.exists()
    small = client.post(
        f"{API}/imports", {"file": SimpleUploadedFile("small.md", plan_of(3))}, headers=writer
    )
    assert small.status_code == 200, small.content


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_value_the_database_refuses_stops_the_import_and_writes_nothing():
    require_postgres()
    long_owner = "A" * 150  # Agent.name holds 100: PostgreSQL refuses (DataError)
    text = (
        plan_of(3)
        .decode()
        .replace("| # | Task |\n|---|---|\n", "| # | Task | Owner |\n|---|---|---|\n")
    )
    text = text.replace("| B-1 | Task number 1 |", "| B-1 | Task number 1 | Codex |")
    text = text.replace("| B-2 | Task number 2 |", f"| B-2 | Task number 2 | {long_owner} |")
    text = text.replace("| B-3 | Task number 3 |", "| B-3 | Task number 3 | |")
    with pytest.raises(PlanStoreError) as refused:
        plan_import_data(data=text, source_name="long.md", by="test")
    message = refused.value.message
    assert message.startswith("line 6 (task B-2): the database refused the import (")
    assert message.endswith("nothing was imported.")
    assert not Task.objects.exists() and not Plan.objects.exists()
    assert not Agent.objects.filter(name="Codex").exists()  # B-1's new agent rolled back too


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_lock_it_cannot_get_in_time_is_a_clear_error_and_writes_nothing():
    require_postgres()
    settings = connection.settings_dict
    locked, release = threading.Event(), threading.Event()

    def hold_the_task_table() -> None:
        with (
            psycopg.connect(
                dbname=settings["NAME"],
                user=settings["USER"],
                host=settings["HOST"] or "127.0.0.1",
                port=settings["PORT"] or 5432,
                password=settings["PASSWORD"] or None,
            ) as other,
            other.transaction(),
        ):
            other.execute("LOCK TABLE coordination_task IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_task_table, daemon=True)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        with pytest.raises(PlanStoreError) as refused:
            plan_import_data(data=plan_of(3), source_name="locked.md", by="test")
        assert "the database refused the import (" in refused.value.message
        assert "lock" in refused.value.message.lower()
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert not Plan.objects.exists() and not Task.objects.exists()

"""Nothing guessed (issue 15 item 7): what a plan does not say stays unknown (null).

Priority and risk are null, not "medium"; the board, the task page, the API and
version 2 of task_status.json say unknown; version 1 (still served) writes its
old "medium"; totals say how many open tasks they leave out; every inference the
importer makes is in its report (CLI, form page, API).
"""

from __future__ import annotations

import io
import json
from urllib.parse import quote

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape

from coordination.exports import TASK_STATUS, TASK_STATUS_V2, export_bundle
from coordination.models import Task, remaining_label
from coordination.services import snapshot_take
from coordination.services.plan_import import plan_import_data
from tests.coordination import schema_check
from tests.coordination.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db

API = "/api/coordination"
SCHEMAS = REPO_ROOT / "docs" / "schemas"

# No Priority or Risk column; two of four tasks estimated; an owner from a heading.
PLAN = """# Quiet plan

## Platform (Codex)

| # | Task | Estimate |
|---|---|---|
| Q-1 | Pin the lock | 2-3h |
| Q-2 | Trim the SDK | 30min |
| Q-3 | Write the runbook | |
| Q-4 | Tidy the docs | |
"""


@pytest.fixture
def quiet(db):
    return plan_import_data(data=PLAN, source_name="quiet.md", by="test")


def test_it_leaves_priority_risk_and_estimate_unknown(quiet):
    q3 = Task.objects.get(key="Q-3")
    assert (q3.priority, q3.risk, q3.estimate_min_hours, q3.estimate_max_hours) == (
        None,
        None,
        None,
        None,
    )
    q1 = Task.objects.get(key="Q-1")
    assert (q1.estimate_min_hours, q1.estimate_max_hours, q1.priority) == (2.0, 3.0, None)
    created = next(c for c in quiet.tasks if c.key == "Q-3").changes
    assert "priority" not in created and "risk" not in created


def test_totals_say_what_they_leave_out(quiet):
    assert (
        remaining_label(34.58, 21, 27) == "34.58 h over 21 estimated tasks, 27 without an estimate"
    )
    assert remaining_label(3, 1, 0) == "3 h over 1 estimated task"
    assert remaining_label(3, None, None) == "3 h"  # an old snapshot: counts unknown
    snapshot, _ = snapshot_take()
    assert (snapshot.estimated_open_count, snapshot.unestimated_open_count) == (2, 2)
    bundle = export_bundle(snapshot=snapshot)
    assert (
        "3.5 h over 2 estimated tasks, 2 without an estimate"
        in bundle.files["COORDINATION_DASHBOARD.md"]
    )


def test_the_board_and_the_task_page_say_unknown(quiet, client, coordinator):
    client.force_login(coordinator)
    board = client.get(reverse("coordination")).content.decode()
    assert "3.5 h over 2 estimated tasks, 2 without an estimate</strong> remaining" in board
    assert board.count("priority unknown") == 4 and board.count("risk unknown") == 4
    assert "risk medium" not in board
    assert "4 open tasks without an estimate" not in board  # the chart says 2
    assert "2 open tasks without an estimate not counted" in board
    page = client.get(reverse("coordination-task", args=[Task.objects.get(key="Q-3").pk]))
    assert "<dd>unknown / unknown</dd>" in page.content.decode()


def test_the_api_says_null_and_clears_a_value_to_unknown(quiet, client, api_key_headers):
    writer = api_key_headers(scopes=["ops:read", "ops:write"])
    body = client.get(f"{API}/tasks/Q-3", headers=writer).json()
    assert (body["priority"], body["risk"]) == (None, None)
    made = client.post(
        f"{API}/tasks",
        {"key": "N-1", "title": "no priority given"},
        content_type="application/json",
        headers=writer,
    ).json()
    assert (made["priority"], made["risk"]) == (None, None)
    client.patch(
        f"{API}/tasks/Q-1", {"priority": "high"}, content_type="application/json", headers=writer
    )
    cleared = client.patch(
        f"{API}/tasks/Q-1", {"priority": None}, content_type="application/json", headers=writer
    ).json()
    assert cleared["priority"] is None
    kept = client.patch(
        f"{API}/tasks/{quote('Q-1')}",
        {"title": "Pin the lock file"},
        content_type="application/json",
        headers=writer,
    ).json()
    assert (kept["title"], kept["estimate_max_hours"]) == ("Pin the lock file", 3.0)
    snapshots = client.post(f"{API}/snapshots", headers=writer).json()
    assert snapshots["unestimated_open_count"] == 3  # and N-1
    assert snapshots["remaining_label"] == "3.5 h over 2 estimated tasks, 3 without an estimate"


def test_version_2_of_task_status_says_null_and_version_1_stays_as_it_was(quiet):
    snapshot, _ = snapshot_take()
    bundle = export_bundle(snapshot=snapshot)
    v2 = json.loads(bundle.files[TASK_STATUS_V2])
    schema_v2 = json.loads((SCHEMAS / "task_status.v2.json").read_text())
    jsonschema.Draft202012Validator(schema_v2).validate(v2)
    assert schema_check.errors(v2, schema_v2) == []
    q3 = next(t for t in v2["tasks"] if t["key"] == "Q-3")
    assert (q3["priority"], q3["risk"], q3["estimate_hours"], q3["plan"]) == (
        None,
        None,
        None,
        "quiet",
    )
    totals = v2["totals"]
    assert (totals["estimated_open"], totals["unestimated_open"]) == (2, 2)
    assert (totals["priority_unknown"], totals["risk_unknown"]) == (4, 4)
    assert v2["schema_version"] == 2
    v1 = json.loads(bundle.files[TASK_STATUS])
    schema_v1 = json.loads((SCHEMAS / "task_status.v1.json").read_text())
    assert schema_check.errors(v1, schema_v1) == []
    assert v1["schema_version"] == 1
    assert {(t["priority"], t["risk"]) for t in v1["tasks"]} == {("medium", "medium")}
    # A broken v2 document fails the schema: the check can fail.
    q3["priority"] = "urgent"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema_v2).validate(v2)


def test_both_versions_are_served(quiet, client, api_key_headers):
    reader = api_key_headers(scopes=["ops:read"])
    v1 = client.get(f"{API}/exports/task_status.json", headers=reader).json()
    v2 = client.get(f"{API}/exports/task_status.v2.json", headers=reader).json()
    assert (v1["schema_version"], v2["schema_version"]) == (1, 2)


def test_every_inference_is_in_the_report(db, tmp_path, client, coordinator, api_key_headers):
    path = tmp_path / "quiet.md"
    path.write_text(PLAN, encoding="utf-8")
    out = io.StringIO()
    call_command("import_plan", str(path), "--dry-run", stdout=out)
    text = out.getvalue()
    inferred = [line for line in text.splitlines() if line.startswith("  inferred: ")]
    assert inferred, text
    assert any("Codex" in line and "heading" in line for line in inferred), inferred
    assert "inferences" in text.splitlines()[0]
    writer = api_key_headers(scopes=["ops:read", "ops:write"])
    response = client.post(
        f"{API}/imports",
        {"file": SimpleUploadedFile("quiet.md", PLAN.encode()), "dry_run": "true"},
        headers=writer,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["inferences"] == [line.removeprefix("  inferred: ") for line in inferred]
    assert body["counts"]["inferences"] == len(inferred)
    client.force_login(coordinator)
    page = client.post(
        reverse("coordination-import"),
        {"file": SimpleUploadedFile("quiet.md", PLAN.encode()), "dry_run": "on"},
    ).content.decode()
    assert "Inferred, not read: check these" in page
    assert escape(inferred[0].removeprefix("  inferred: ")) in page

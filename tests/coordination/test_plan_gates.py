"""Plan gates (issue 15 item 3): a plan's checklist of conditions, as rows.

``not-tasks.md`` has two gates ("Pre-GA gates", "Acceptance criteria (Phase 2
complete)"); the import writes one PlanGate per line, idempotently, follows the
plan's ticks, drops lines the plan drops; the board, the API and the admin show
them.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from coordination.models import PlanGate
from coordination.services.plan_import import plan_import_data
from soak.gates import GateSpec
from soak.sources.base import MeasureContext
from soak.sources.coordination import measure
from tests.coordination.conftest import REPO_ROOT

pytestmark = pytest.mark.django_db

API = "/api/coordination"
PLAN = (REPO_ROOT / "tests" / "coordination" / "plans" / "not-tasks.md").read_text("utf-8")


def imp(text: str):
    return plan_import_data(data=text, source_name="not-tasks.md", by="test")


@pytest.fixture
def gated():
    return imp(PLAN)


def rows():
    return list(PlanGate.objects.order_by("order").values_list("section", "text", "done", "line"))


def test_it_stores_each_gate_line_of_the_plan(gated):
    assert rows() == [
        ("Pre-GA gates", "p95 latency under 300 ms for 24 h", True, 42),
        ("Pre-GA gates", "zero data loss in the failover drill", False, 43),
        ("Acceptance criteria (Phase 2 complete)", "every runbook reviewed", False, 47),
    ]
    assert {g.plan.slug for g in PlanGate.objects.select_related("plan")} == {"not-tasks"}
    assert len(gated.gates_changed) == 3 and gated.gates_changed[0].startswith("added: ")
    assert gated.to_dict()["gates"][0]["text"] == "p95 latency under 300 ms for 24 h"


def test_it_imports_gates_idempotently_and_follows_the_plan(gated):
    ids = list(PlanGate.objects.order_by("order").values_list("id", flat=True))
    again = imp(PLAN)
    assert again.gates_changed == []
    assert list(PlanGate.objects.order_by("order").values_list("id", flat=True)) == ids
    revised = PLAN.replace(
        "- [ ] zero data loss in the failover drill", "- [x] zero data loss in the failover drill"
    ).replace("- [ ] every runbook reviewed\n", "")
    report = imp(revised)
    assert report.gates_changed == [
        "ticked: Pre-GA gates: zero data loss in the failover drill",
        "removed: Acceptance criteria (Phase 2 complete): every runbook reviewed",
    ]
    assert [r[2] for r in rows()] == [True, True]
    assert PlanGate.objects.count() == 2


def test_the_dry_run_writes_no_gate(db):
    report = plan_import_data(data=PLAN, source_name="not-tasks.md", by="test", dry_run=True)
    assert len(report.gates) == 3
    assert not PlanGate.objects.exists()


def test_the_board_shows_the_gates_of_each_plan(gated, client, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("coordination")).content.decode()
    assert 'id="coord-plan-gates"' in page
    assert "1 of 3 done" in page
    assert "zero data loss in the failover drill" in page


def test_the_api_lists_plans_with_their_gates(gated, client, api_key_headers):
    reader = api_key_headers(scopes=["ops:read"])
    plans = client.get(f"{API}/plans", headers=reader).json()
    assert [p["slug"] for p in plans] == ["not-tasks"]
    one = client.get(f"{API}/plans/NOT-TASKS", headers=reader).json()
    assert [(g["text"], g["done"]) for g in one["gates"]] == [
        ("p95 latency under 300 ms for 24 h", True),
        ("zero data loss in the failover drill", False),
        ("every runbook reviewed", False),
    ]
    assert one["gates_done"] is False
    missing = client.get(f"{API}/plans/nope", headers=reader)
    assert missing.status_code == 404
    assert "plans: not-tasks" in missing.json()["error"]["message"]


def test_the_admin_shows_a_plans_gates(gated, admin_client):
    plan = PlanGate.objects.select_related("plan").first().plan
    page = admin_client.get(reverse("admin:coordination_plan_change", args=[plan.pk]))
    assert page.status_code == 200
    assert "every runbook reviewed" in page.content.decode()
    listing = admin_client.get(reverse("admin:coordination_plangate_changelist"))
    assert "zero data loss in the failover drill" in listing.content.decode()


def test_a_soak_gate_reads_whether_a_plans_gates_are_all_done(gated):
    from datetime import UTC, datetime

    now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    ctx = MeasureContext(
        run_id=1, release="v1", target_url="", now=now, started_at=now, window_start=now
    )

    def spec(slug: str) -> GateSpec:
        return GateSpec.model_validate(
            {
                "id": "plan-gates",
                "title": "plan gates done",
                "source": "coordination",
                "tasks": {"plan_gates": slug},
                "comparator": "==",
                "threshold": 0,
            }
        )

    got = measure(spec("not-tasks"), ctx)
    assert got.value == 2.0  # two of the three lines are not done
    assert got.message == "1 of 3 gate line(s) of not-tasks done"
    assert not spec("not-tasks").compare(got.value)
    imp(PLAN.replace("- [ ]", "- [x]"))
    assert measure(spec("NOT-TASKS"), ctx).value == 0.0
    assert measure(spec("nowhere"), ctx).value is None  # no data, never a pass

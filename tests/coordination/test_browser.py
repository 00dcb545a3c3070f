"""The board in a real browser: log in, filter by owner, move a card, see a refusal.

Headless Chromium from Debian (``/usr/bin/chromium``), driven by Playwright,
against pytest-django's live server (a threaded server in this process). Never
``playwright install``: the browser comes from the distribution.
"""

from __future__ import annotations

import pytest

from coordination.models import Task, TaskEvent
from coordination.services.plan_import import plan_import_data
from tests.conftest import PASSWORD
from tests.coordination.conftest import COORDINATION_PLAN

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(240)
def test_it_filters_moves_and_refuses_on_the_board_in_a_browser(
    live_server, coordinator, browser_page, artifacts_dir
):
    plan_import_data(
        data=COORDINATION_PLAN.read_bytes(), source_name=COORDINATION_PLAN.name, by="test"
    )
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", coordinator.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/coordination/")
    page.wait_for_selector(".coord-chart .main-svg")  # plotly drew the server-built figures

    # Filter by owner: the select applies on change.
    page.select_option("select[name=owner]", "Copilot")
    page.wait_for_url("**owner=Copilot**")
    cards = page.locator("li.coord-card")
    copilot_cards = cards.evaluate_all("cards => cards.map(c => c.dataset.key)")
    assert sorted(copilot_cards) == ["#5", "D", "E", "G", "H"]

    page.select_option("select[name=owner]", "Codex")
    page.wait_for_url("**owner=Codex**")
    page.evaluate("window.__sameDocument = true")

    # Move #1 to in progress: the card changes column, the page does not reload.
    card = page.locator('li.coord-card[data-key="#1"]')
    card.locator("select[name=to]").select_option("in_progress")
    card.locator("button", has_text="Move").click()
    page.wait_for_selector('[data-column="in_progress"] li.coord-card[data-key="#1"]')
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator('[data-column="in_progress"] [data-count]').inner_text() == "1"
    assert Task.objects.get(key="#1").status == "in_progress"
    assert TaskEvent.objects.filter(task__key="#1", field="status", user=coordinator).exists()

    # A task that waits for #1 cannot start: the refusal shows on its card.
    page.select_option("select[name=owner]", "Claude Code")
    page.wait_for_url("**owner=Claude**")
    blocked = page.locator('li.coord-card[data-key="CC-1"]')
    assert "Blocked by #1" in blocked.inner_text()
    blocked.locator("select[name=to]").select_option("in_progress")
    blocked.locator("button", has_text="Move").click()
    error = blocked.locator(".coord-error")
    error.wait_for(state="visible")
    assert error.inner_text() == (
        "CC-1 cannot start: it is blocked by #1 (in progress). "
        "Finish those first, or remove the dependency."
    )
    assert page.locator('[data-column="todo"] li.coord-card[data-key="CC-1"]').count() == 1
    assert Task.objects.get(key="CC-1").status == "todo"

    page.screenshot(path=str(artifacts_dir / "coordination-board.png"), full_page=True)
    assert page.errors == []


@pytest.mark.timeout(240)
def test_two_plans_with_the_same_key_on_the_board_in_a_browser(
    live_server, coordinator, browser_page, artifacts_dir
):
    """Two plans both have #1: two cards, each named with its plan; moving one moves only it.
    What the plans do not say reads unknown; the plan's gates are listed."""
    alpha = "# Alpha\n\n| # | Task | Owner |\n|---|---|---|\n| #1 | Alpha one | Codex |\n"
    beta = (
        "# Beta\n\n| # | Task | Owner | Priority |\n|---|---|---|---|\n"
        "| #1 | Beta one | Codex | high |\n\n## Pre-GA gates\n\n- [x] soak green\n- [ ] docs\n"
    )
    plan_import_data(data=alpha, source_name="alpha.md", by="test")
    plan_import_data(data=beta, source_name="beta.md", by="test")
    beta_one = Task.objects.get(source_plan__slug="beta", key="#1")
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", coordinator.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/coordination/")
    labels = page.locator("li.coord-card .coord-key").all_inner_texts()
    assert sorted(labels) == ["alpha:#1", "beta:#1"]
    alpha_card = page.locator("li.coord-card", has_text="Alpha one")
    assert "priority unknown" in alpha_card.inner_text()
    assert "risk unknown" in alpha_card.inner_text()
    assert "1 of 2 done" in page.locator("#coord-plan-gates").inner_text()

    card = page.locator(f'li.coord-card[data-id="{beta_one.pk}"]')
    card.locator("select[name=to]").select_option("in_progress")
    card.locator("button", has_text="Move").click()
    page.wait_for_selector(f'[data-column="in_progress"] li.coord-card[data-id="{beta_one.pk}"]')
    statuses = dict(Task.objects.values_list("source_plan__slug", "status"))
    assert statuses == {"alpha": "todo", "beta": "in_progress"}
    page.screenshot(path=str(artifacts_dir / "coordination-two-plans.png"), full_page=True)
    assert page.errors == []

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

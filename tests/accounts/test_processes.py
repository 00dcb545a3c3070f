"""The lockout holds across web processes: two uvicorn processes on one database."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e
LIMIT = 5


def _csrf(session: httpx.Client, base: str) -> str:
    page = session.get(f"{base}/accounts/login/")
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


@pytest.mark.timeout(180)
def test_it_counts_failures_across_two_web_processes(live_site, alice):
    first, second = live_site(), live_site()
    with httpx.Client(timeout=10) as session:
        token = _csrf(session, first.base)
        statuses = []
        for n in range(LIMIT):
            site = (first, second)[n % 2]  # alternate: neither process sees all failures itself
            response = session.post(
                f"{site.base}/accounts/login/",
                data={"username": "alice", "password": f"guess-{n}", "csrfmiddlewaretoken": token},
            )
            statuses.append(response.status_code)
        assert statuses == [200] * (LIMIT - 1) + [429], first.output() + second.output()
        for site in (first, second):
            refused = session.post(
                f"{site.base}/accounts/login/",
                data={"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
                headers={"Accept": "application/json"},
            )
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "login_locked_out"
        assert session.get(f"{second.base}/accounts/me/").status_code == 302  # never signed in

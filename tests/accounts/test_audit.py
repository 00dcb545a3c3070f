"""The login audit: successes, failures, lockouts in the admin (never a password); the metric."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.forms.models import model_to_dict
from django.utils import timezone

from accounts.tasks import purge_audit
from tests.accounts.conftest import attempts, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) LukhasTest/1.0"


def test_it_records_successes_failures_and_lockouts_with_who_where_and_which_browser(
    client, alice, bob_client, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    before = {outcome: attempts(outcome) for outcome in ("success", "failure", "locked_out")}

    assert sign_in(client, "alice", "not-it", HTTP_USER_AGENT=BROWSER).status_code == 200
    assert sign_in(client, "alice", PASSWORD, HTTP_USER_AGENT=BROWSER).status_code == 302
    client.post("/accounts/logout/", REMOTE_ADDR="203.0.113.7")
    sign_in(client, "alice", "again-not", HTTP_USER_AGENT=BROWSER)
    sign_in(client, "alice", "third-miss", HTTP_USER_AGENT=BROWSER)  # the 3rd: locks
    assert sign_in(client, "alice", PASSWORD, HTTP_USER_AGENT=BROWSER).status_code == 429

    success = AccessLog.objects.get(username="alice")
    assert (success.username, success.ip_address, success.user_agent) == (
        "alice", "203.0.113.7", BROWSER,
    )  # fmt: skip
    assert success.attempt_time is not None and success.logout_time is not None
    failures = list(AccessFailureLog.objects.order_by("attempt_time"))
    assert [(f.username, f.ip_address, f.user_agent) for f in failures] == [
        ("alice", "203.0.113.7", BROWSER)
    ] * 4
    assert [f.locked_out for f in failures] == [False, False, True, True]

    assert attempts("success") - before["success"] == 1
    assert attempts("failure") - before["failure"] == 3
    assert attempts("locked_out") - before["locked_out"] == 1

    # Admins read it in the admin, as django-axes shows it.
    for path in ("accessattempt", "accesslog", "accessfailurelog"):
        page = bob_client.get(f"/admin/axes/{path}/")
        assert page.status_code == 200
        assert "203.0.113.7" in page.content.decode()
        assert "LukhasTest/1.0" in page.content.decode()


def test_it_never_stores_a_password_attempted(client, alice):
    secrets = ["hunter2-typo", PASSWORD]
    sign_in(client, "alice", secrets[0])
    sign_in(client, "alice", secrets[1])
    rows = [
        *AccessAttempt.objects.all(),
        *AccessFailureLog.objects.all(),
        *AccessLog.objects.all(),
    ]
    assert len(rows) == 3
    for row in rows:
        stored = repr(model_to_dict(row))
        for secret in secrets:
            assert secret not in stored, f"{type(row).__name__} holds a password"
    assert "password=********************" in AccessAttempt.objects.get().post_data


def test_it_purges_audit_rows_past_the_retention(client, alice, settings):
    settings.ACCOUNTS_AUDIT_RETENTION_DAYS = 90
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, "alice", "wrong")
        sign_in(client, "alice", PASSWORD)
        clock.shift(timedelta(days=60))
        sign_in(client, "alice", "wrong-again", address="192.0.2.44")
        clock.shift(timedelta(days=31))
        purged = purge_audit.apply().get()
    assert purged == {"sign_ins": 1, "failures": 1, "sessions": 1}
    assert list(AccessFailureLog.objects.values_list("ip_address", flat=True)) == ["192.0.2.44"]
    assert not AccessLog.objects.exists()

"""Brute-force lockout: per username, per address, the cool-off, admin unlock, JSON 429."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.utils import timezone

from tests.accounts.conftest import attempts, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LIMIT = 5  # LUKHAS_LOGIN_FAILURE_LIMIT's default
COOLOFF = timedelta(seconds=900)  # LUKHAS_LOGIN_COOLOFF_SECONDS's default


def _signed_in(client) -> bool:
    return client.get("/accounts/me/").status_code == 200


def test_it_refuses_the_fortieth_correct_password_after_thirty_nine_wrong_ones(client, alice):
    """The issue's sequence: one account, one address, 39 wrong then the right one."""
    before = {outcome: attempts(outcome) for outcome in ("failure", "locked_out", "success")}
    statuses = [sign_in(client, "alice", f"guess-{n}").status_code for n in range(39)]
    final = sign_in(client, "alice", PASSWORD)

    # The form answers until the LIMIT-th failure, which locks; everything after is refused.
    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert statuses[LIMIT - 1 :] == [429] * (39 - LIMIT + 1)
    assert final.status_code == 429
    assert "Too many failed sign-in attempts" in final.content.decode()
    assert not _signed_in(client)
    assert attempts("failure") - before["failure"] == LIMIT
    assert attempts("locked_out") - before["locked_out"] == 40 - LIMIT
    assert attempts("success") == before["success"]


def test_it_locks_a_username_out_whatever_address_the_guesses_come_from(client, alice, bob):
    for n in range(LIMIT):
        sign_in(client, "alice", "wrong", address=f"198.51.100.{n + 1}")
    refused = sign_in(client, "alice", PASSWORD, address="192.0.2.200")
    assert refused.status_code == 429
    assert not _signed_in(client)
    # Another account is not affected, even from one of those addresses.
    assert sign_in(client, "bob", PASSWORD, address="198.51.100.1").status_code == 302


def test_it_locks_an_address_out_whatever_usernames_it_tries(client, alice):
    for name in ("root", "admin", "ops", "release", "deploy"):
        sign_in(client, name, "wrong", address="203.0.113.66")
    assert sign_in(client, "alice", PASSWORD, address="203.0.113.66").status_code == 429
    # alice herself, from her own address, is not locked out.
    assert sign_in(client, "alice", PASSWORD, address="192.0.2.10").status_code == 302


def test_it_lets_the_user_in_again_after_the_cool_off_and_not_before(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(LIMIT):
            sign_in(client, "alice", "wrong")
        clock.shift(COOLOFF - timedelta(seconds=30))
        # Still refused; and this attempt restarts the wait.
        assert sign_in(client, "alice", PASSWORD).status_code == 429
        clock.shift(timedelta(seconds=60))
        assert sign_in(client, "alice", PASSWORD).status_code == 429
        clock.shift(COOLOFF + timedelta(seconds=1))
        assert sign_in(client, "alice", PASSWORD).status_code == 302
    assert _signed_in(client)


def test_it_locks_the_admin_login_too(client, bob):
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "bob", "password": "x"}, REMOTE_ADDR="192.0.2.9")
    refused = client.post(
        "/admin/login/?next=/admin/",
        {"username": "bob", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.9",
    )
    assert refused.status_code == 429
    assert client.get("/admin/").status_code == 302  # still anonymous: back to a login page
    # The dashboard login shares the counters: bob is locked out there as well.
    assert sign_in(client, "bob", PASSWORD, address="192.0.2.99").status_code == 429


def test_it_answers_json_clients_with_a_429_and_retry_after(client, alice):
    for _ in range(LIMIT - 1):
        sign_in(client, "alice", "wrong", HTTP_ACCEPT="application/json")
    response = sign_in(client, "alice", "wrong", HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "900"
    error = response.json()["error"]
    assert error["code"] == "login_locked_out"
    assert "15 minutes" in error["message"]
    # A browser asking for HTML gets the page, with the same status.
    page = sign_in(client, "alice", PASSWORD, HTTP_ACCEPT="text/html,*/*;q=0.8")
    assert page.status_code == 429
    assert page["Content-Type"].startswith("text/html")
    assert "Sign-in refused for now" in page.content.decode()


def test_it_lets_an_admin_unlock_from_the_admin(client, alice, bob_client):
    for _ in range(LIMIT):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", PASSWORD).status_code == 429
    changelist = bob_client.get("/admin/axes/accessattempt/")
    assert changelist.status_code == 200
    assert "Locked Out" in changelist.content.decode()
    ids = [str(pk) for pk in AccessAttempt.objects.values_list("pk", flat=True)]
    response = bob_client.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", "_selected_action": ids},
        follow=True,
    )
    assert "Unlocked: 1 lockout counter(s) removed." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, "alice", PASSWORD).status_code == 302


class TestClientAddress:
    @pytest.fixture(autouse=True)
    def _behind_a_proxy(self, settings):
        import ipaddress

        settings.ACCOUNTS_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
        settings.ACCOUNTS_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]

    def _recorded_address(self) -> str:
        return AccessAttempt.objects.get().ip_address

    def test_it_takes_the_address_the_trusted_proxy_saw(self, client):
        sign_in(
            client, "alice", "x", address="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.77, 203.0.113.9, 10.0.0.5",
        )  # fmt: skip
        # The right-most hop that is not one of our proxies; the left part is the client's say-so.
        assert self._recorded_address() == "203.0.113.9"

    def test_it_ignores_the_header_from_anyone_else(self, client, alice):
        for n in range(LIMIT):
            sign_in(
                client, f"user{n}", "x", address="192.0.2.5",
                HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
            )  # fmt: skip
        assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.5"}
        # Rotating a forged header did not dodge the address lockout.
        spoofed = sign_in(
            client, "alice", PASSWORD, address="192.0.2.5", HTTP_X_FORWARDED_FOR="198.51.100.250"
        )
        assert spoofed.status_code == 429

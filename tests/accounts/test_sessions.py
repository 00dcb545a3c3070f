"""Sessions: idle timeout, absolute lifetime, the user's own page, sign out everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import SignInMethod, UserSession
from guardian.services import api_key_create
from tests.accounts.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
IDLE = timedelta(seconds=2 * 3600)  # LUKHAS_SESSION_IDLE_SECONDS's default
MAX_AGE = timedelta(seconds=12 * 3600)  # LUKHAS_SESSION_MAX_AGE_SECONDS's default


def _on_page(client) -> int:
    return client.get("/accounts/me/").status_code


def test_it_signs_out_a_session_left_idle_and_says_why(client, alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert sign_in(client, "alice", PASSWORD).status_code == 302
        clock.shift(IDLE - timedelta(minutes=5))
        assert _on_page(client) == 200  # activity moves "last seen"
        clock.shift(IDLE - timedelta(minutes=5))
        assert _on_page(client) == 200
        clock.shift(IDLE + timedelta(seconds=1))
        response = client.get("/accounts/me/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
        page = client.get(response["Location"])
    assert "You were signed out after 120 minutes without activity." in page.content.decode()
    assert not UserSession.objects.exists()


def test_it_signs_out_an_active_session_at_its_absolute_lifetime(client, alice):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        sign_in(client, "alice", PASSWORD)
        for _ in range(11):
            clock.shift(timedelta(hours=1))
            assert _on_page(client) == 200
        clock.shift(timedelta(hours=1, seconds=1))
        assert _on_page(client) == 302
        page = client.get("/accounts/login/")
    assert "Your session reached its 12 h limit." in page.content.decode()


def test_it_lists_the_users_own_api_keys_and_sessions(alice, bob, django_assert_num_queries):
    _, mine = api_key_create(name="alice-ci", scopes=["ops:read"], by=alice)
    _, revoked = api_key_create(name="alice-old", scopes=["ops:read"], by=alice)
    revoked.revoked, revoked.revoked_at = True, timezone.now()
    revoked.save()
    _, theirs = api_key_create(name="bob-deploy", scopes=["ops:write"], by=bob)
    laptop, desk = Client(HTTP_USER_AGENT="laptop"), Client(HTTP_USER_AGENT="desk")
    sign_in(laptop, "alice", PASSWORD, address="192.0.2.1")
    sign_in(desk, "alice", PASSWORD, address="192.0.2.2")

    # session, user, groups, sessions, keys, sign-ins, failures: none per row.
    with django_assert_num_queries(7):
        page = laptop.get("/accounts/me/")
    html = page.content.decode()
    assert page.status_code == 200
    assert mine.prefix in html and revoked.prefix in html
    assert theirs.prefix not in html and "bob-deploy" not in html
    assert "revoked" in html
    assert "192.0.2.1" in html and "192.0.2.2" in html and "this browser" in html
    assert set(UserSession.objects.values_list("method", flat=True)) == {SignInMethod.PASSWORD}


def test_it_signs_out_everywhere_and_leaves_other_users_alone(alice, bob):
    laptop, phone, bobs = Client(), Client(), Client()
    sign_in(laptop, "alice", PASSWORD, address="192.0.2.1")
    sign_in(phone, "alice", PASSWORD, address="192.0.2.2")
    sign_in(bobs, "bob", PASSWORD, address="192.0.2.3")
    assert UserSession.objects.filter(user=alice).count() == 2

    response = laptop.post("/accounts/me/sign-out-everywhere", follow=True)
    assert "Signed out everywhere: 2 sessions ended." in response.content.decode()
    assert _on_page(laptop) == 302
    assert _on_page(phone) == 302
    assert _on_page(bobs) == 200
    assert not UserSession.objects.filter(user=alice).exists()
    # Signing in again works as before.
    assert sign_in(phone, "alice", PASSWORD, address="192.0.2.2").status_code == 302
    assert _on_page(phone) == 200


def test_it_only_signs_out_everywhere_on_a_post(alice_client):
    assert alice_client.get("/accounts/me/sign-out-everywhere").status_code == 405
    assert _on_page(alice_client) == 200

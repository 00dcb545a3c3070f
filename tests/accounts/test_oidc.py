"""Single sign-on against a real OpenID Connect provider (npm oidc-provider, on 127.0.0.1).

The site's side runs in Django's test client; the provider's pages are walked
with httpx, as a browser would. test_oidc_browser.py does the same in Chromium.
"""

from __future__ import annotations

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts import checks, services
from accounts.models import SignInMethod, UserSession
from tests.accounts.conftest import GROUP_MAP, attempts, provider_login, sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
SITE = "http://testserver"
CALLBACK = f"{SITE}/accounts/oidc/callback/"


@pytest.fixture
def provider(start_provider, sso_settings):
    running = start_provider(CALLBACK)
    sso_settings(running.issuer)
    return running


def _sso(client, provider, login: str):
    """Start at the site's SSO button, sign in at the provider, come back: the callback's answer."""
    start = client.get("/accounts/oidc/authenticate/?next=/accounts/me/")
    assert start.status_code == 302, start.content.decode()[:500]
    assert start["Location"].startswith(f"{provider.issuer}/")
    callback = provider_login(start["Location"], provider.issuer, login, SITE)
    return client.get(callback.removeprefix(SITE))


def test_it_creates_the_user_on_first_sign_in_with_the_mapped_rights(client, provider):
    before = attempts("success")
    response = _sso(client, provider, "dana")
    assert response.status_code == 302, provider.output()
    assert response["Location"] == "/accounts/me/"

    user = get_user_model().objects.get(username="dana@corp.example")
    assert (user.email, user.first_name, user.last_name) == ("dana@corp.example", "Dana", "Release")
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == ["coordinators"]
    assert user.has_perm("coordination.change_task")
    assert not user.is_staff
    page = client.get("/accounts/me/")
    assert page.status_code == 200
    assert "coordinators" in page.content.decode()
    assert UserSession.objects.get(user=user).method == SignInMethod.SSO
    assert AccessLog.objects.filter(username="dana@corp.example").count() == 1
    assert attempts("success") - before == 1


def test_it_maps_an_admin_group_to_staff(client, provider):
    assert _sso(client, provider, "erin").status_code == 302
    erin = get_user_model().objects.get(username="erin@corp.example")
    assert erin.is_staff and not erin.is_superuser
    assert set(erin.groups.values_list("name", flat=True)) == {"coordinators", "maintainers"}
    assert client.get("/admin/").status_code == 200


def test_it_refuses_an_account_of_another_domain(client, provider):
    before = attempts("failure")
    response = _sso(client, provider, "mallory")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    page = client.get("/accounts/login/")
    assert (
        "mallory@elsewhere.example may not sign in here: accounts of elsewhere.example are not "
        "allowed (allowed: corp.example)." in page.content.decode()
    )
    assert not get_user_model().objects.filter(email="mallory@elsewhere.example").exists()
    assert client.get("/accounts/me/").status_code == 302
    assert attempts("failure") - before == 1
    assert AccessFailureLog.objects.count() == 1  # counted per address like a wrong password


def test_it_refuses_an_account_outside_the_allowed_groups(client, provider, settings):
    settings.OIDC_ALLOWED_GROUPS = ["lukhas-release", "lukhas-admins"]
    response = _sso(client, provider, "frank")
    assert response["Location"] == "/accounts/login/"
    assert "it is in none of the allowed groups" in client.get("/accounts/login/").content.decode()
    assert not get_user_model().objects.filter(username="frank@corp.example").exists()


def test_it_never_signs_into_a_local_account_by_its_email(client, provider, django_user_model):
    local = django_user_model.objects.create_user("dana", "dana@corp.example", PASSWORD)
    assert _sso(client, provider, "dana").status_code == 302
    sso_user = django_user_model.objects.get(username="dana@corp.example")
    assert sso_user.pk != local.pk
    assert client.get("/accounts/me/").context["user"].pk == sso_user.pk


def test_it_says_so_when_the_provider_is_down(client, start_provider, sso_settings):
    down = start_provider(CALLBACK)
    sso_settings(down.issuer)
    down.stop()
    response = client.get("/accounts/oidc/authenticate/")
    assert response.status_code == 503
    assert "Corp SSO is unavailable" in response.content.decode()
    assert "cannot be reached" in response.content.decode()


def test_it_is_off_by_default(client):
    assert client.get("/accounts/oidc/authenticate/").status_code == 404
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()


def test_it_turns_password_sign_in_off(client, alice, provider, settings):
    settings.ACCOUNTS_PASSWORD_LOGIN = False
    settings.AUTHENTICATION_BACKENDS = [
        "accounts.backends.LockoutBackend",
        "accounts.oidc.SignInBackend",
    ]
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Corp SSO" in page and 'name="password"' not in page
    refused = sign_in(client, "alice", PASSWORD)
    assert refused.status_code == 302
    assert "Password sign-in is turned off" in client.get(refused["Location"]).content.decode()
    assert client.get("/accounts/me/").status_code == 302
    admin_login = client.get("/admin/login/?next=/admin/")
    assert admin_login.status_code == 302
    assert admin_login["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    # Single sign-on still works.
    assert _sso(client, provider, "dana").status_code == 302
    assert client.get("/accounts/me/").status_code == 200


def test_it_takes_mapped_rights_away_when_the_provider_does(db, settings):
    settings.OIDC_GROUP_MAP = GROUP_MAP
    other = Group.objects.create(name="hand-made")
    claims = {"email": "dana@corp.example", "groups": ["lukhas-release", "lukhas-admins"]}
    user = services.sso_user_sign_in(claims=claims)
    user.groups.add(other)
    assert user.is_staff
    user = services.sso_user_sign_in(claims={**claims, "groups": ["lukhas-release"]})
    user = get_user_model().objects.get(pk=user.pk)  # no permission cache
    assert set(user.groups.values_list("name", flat=True)) == {"coordinators", "hand-made"}
    assert not user.is_staff
    assert user.has_perm("coordination.change_task")
    user = services.sso_user_sign_in(claims={**claims, "groups": []})
    user = get_user_model().objects.get(pk=user.pk)
    assert set(user.groups.values_list("name", flat=True)) == {"hand-made"}
    assert not user.has_perm("coordination.change_task")


def test_it_reports_a_group_map_with_an_unknown_permission(db, settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_GROUP_MAP = {"x": {"permissions": ["coordination.fly_to_moon"]}}
    errors = checks.check_group_map()
    assert [e.id for e in errors] == ["accounts.E001"]
    assert "coordination.fly_to_moon" in errors[0].msg
    settings.OIDC_ALLOWED_DOMAINS, settings.OIDC_ALLOWED_GROUPS = [], []
    assert [w.id for w in checks.check_sso()] == ["accounts.W001"]

"""Scopes: the matrix of scope x operation, for keys and for dashboard sessions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client, RequestFactory

from guardian import pdp, services
from guardian.models import ALL_SCOPES, Denial, DenialKind
from guardian.permissions import authorize_user, require_scope
from guardian.principals import key_principal, user_principal
from lukhas_site.errors import AuthenticationFailed, PermissionDenied

pytestmark = pytest.mark.django_db

SCOPES = sorted(ALL_SCOPES)


def _request(principal):
    request = RequestFactory().get("/api/anything")
    request.auth = principal
    return request


def test_it_knows_at_least_the_scopes_of_the_issue():
    assert {
        "models:read",
        "responses:write",
        "embeddings:write",
        "indexes:read",
        "indexes:write",
        "dreams:write",
        "ops:read",
        "ops:write",
    } <= ALL_SCOPES


@pytest.mark.parametrize("held", SCOPES)
def test_it_allows_exactly_the_scope_a_key_holds(mint_key, held):
    _, key = mint_key(scopes=[held])
    principal = key_principal(key)
    for wanted in SCOPES:
        request = _request(principal)
        if wanted == held:
            assert require_scope(request, wanted) is principal
        else:
            with pytest.raises(PermissionDenied) as refused:
                require_scope(request, wanted)
            assert refused.value.status == 403
            assert f"'{wanted}'" in refused.value.message
            assert refused.value.param == wanted


def test_it_lets_any_active_user_read_and_only_staff_write(alice, bob):
    for scope in SCOPES:
        as_alice = _request(user_principal(alice))
        as_bob = _request(user_principal(bob))
        assert require_scope(as_bob, scope).user == bob
        if scope.endswith(":read"):
            assert require_scope(as_alice, scope).user == alice
        else:
            with pytest.raises(PermissionDenied, match=scope):
                require_scope(as_alice, scope)


def test_it_asks_the_django_permission_when_one_is_named(charlie):
    perm = "guardian.change_policyoverride"
    with pytest.raises(PermissionDenied, match=r"guardian\.change_policyoverride"):
        require_scope(_request(user_principal(charlie)), "ops:write", perm=perm)
    charlie.user_permissions.add(
        Permission.objects.get(codename="change_policyoverride", content_type__app_label="guardian")
    )
    charlie = type(charlie).objects.get(pk=charlie.pk)  # drop the permission cache
    assert require_scope(_request(user_principal(charlie)), "ops:write", perm=perm)


def test_it_refuses_a_request_without_a_principal():
    request = RequestFactory().get("/api/x")
    with pytest.raises(AuthenticationFailed):
        require_scope(request, "ops:read")


def _plain_request(user, method="post"):
    """What a board view or an admin action gets: a session user, no ``request.auth``."""
    request = getattr(RequestFactory(), method)("/board/move")
    request.user = user
    return request


def _grant(user, codename, app_label):
    user.user_permissions.add(
        Permission.objects.get(codename=codename, content_type__app_label=app_label)
    )
    return type(user).objects.get(pk=user.pk)  # drop the permission cache


def test_it_takes_the_session_user_of_a_plain_django_view(alice, charlie):
    charlie = _grant(charlie, "change_policyoverride", "guardian")
    request = _plain_request(charlie)
    principal = require_scope(request, "ops:write", perm="guardian.change_policyoverride")
    assert principal.kind == "user"
    assert principal.user == charlie
    # Without the permission, the scope is not granted (alice is no staff member).
    with pytest.raises(PermissionDenied, match=r"guardian\.change_policyoverride"):
        require_scope(_plain_request(alice), "ops:write", perm="guardian.change_policyoverride")


def test_it_refuses_an_anonymous_plain_request():
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(AuthenticationFailed):
        require_scope(_plain_request(AnonymousUser()), "ops:read")


def test_it_holds_a_kill_switch_against_a_session_user_with_the_permission(bob, charlie, settings):
    """A board move or an admin action asks the PDP too: the policy's kill switch refuses it."""
    settings.GUARDIAN_POLICY_REFRESH_SECONDS = 0
    charlie = _grant(charlie, "change_policyoverride", "guardian")
    perm = "guardian.change_policyoverride"
    assert require_scope(_plain_request(charlie), "ops:write", perm=perm)
    services.policy_override_set(policy=pdp.current().name, kill_switch=True, by=bob)
    pdp.refresh_if_stale(force=True)
    with pytest.raises(PermissionDenied, match="kill switch") as refused:
        require_scope(_plain_request(charlie), "ops:write", perm=perm)
    assert refused.value.param == "ops:write"
    denial = Denial.objects.get(user=charlie)
    assert (denial.kind, denial.reason, denial.action) == (
        DenialKind.POLICY,
        "kill_switch",
        "ops:write",
    )
    assert denial.enforced is True
    assert denial.route == "/board/move"
    # The same holds for a caller without a request.
    with pytest.raises(PermissionDenied, match="kill switch"):
        authorize_user(charlie, "ops:write", perm=perm, route="command:move")
    assert Denial.objects.filter(user=charlie, route="command:move").exists()


def test_it_authorizes_a_user_without_a_request(alice, charlie):
    assert authorize_user(alice, "ops:read").user == alice
    with pytest.raises(PermissionDenied, match="ops:write"):
        authorize_user(alice, "ops:write")
    charlie = _grant(charlie, "change_policyoverride", "guardian")
    principal = authorize_user(charlie, "ops:write", perm="guardian.change_policyoverride")
    assert principal.user == charlie
    charlie.is_active = False
    with pytest.raises(AuthenticationFailed):
        authorize_user(charlie, "ops:read")


# --- over HTTP, on Guardian's own operations -----------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "scope", "body"),
    [
        ("get", "/api/guardian/policy", "ops:read", None),
        ("post", "/api/guardian/policy/reload", "ops:write", None),
        ("post", "/api/guardian/usage", "responses:write", {"tokens": 3}),
    ],
)
def test_it_answers_403_naming_the_missing_scope_over_http(
    client, api_key_headers, method, path, scope, body
):
    others = [s for s in SCOPES if s != scope]
    kwargs = {"content_type": "application/json", "data": body} if body else {}
    refused = getattr(client, method)(path, headers=api_key_headers(scopes=others), **kwargs)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "insufficient_permissions"
    assert scope in error["message"]
    assert error["param"] == scope
    allowed = getattr(client, method)(path, headers=api_key_headers(scopes=[scope]), **kwargs)
    assert allowed.status_code == 200, allowed.content


def test_it_lets_any_key_see_itself(client, api_key_headers):
    response = client.get("/api/guardian/me", headers=api_key_headers(scopes=[]))
    assert response.status_code == 200
    assert response.json()["scopes"] == []


def test_it_accepts_a_dashboard_session_on_api_but_not_on_v1(alice_client):
    me = alice_client.get("/api/guardian/me")
    assert me.status_code == 200
    assert me.json()["principal"] == "user"
    assert "ops:read" in me.json()["scopes"]
    assert alice_client.get("/api/guardian/policy").status_code == 200
    # A session is no bearer key: /v1 answers as OpenAI would.
    assert alice_client.get("/v1/no-such-op").status_code == 404
    refused = alice_client.post("/api/guardian/policy/reload")
    assert refused.status_code == 403


def test_it_checks_csrf_for_unsafe_methods_on_a_session(alice, bob):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(bob)
    refused = browser.post("/api/guardian/policy/reload")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    # What the dashboard's pages set and send back: the cookie and the same token in a header.
    token = _get_new_csrf_string()
    browser.cookies["csrftoken"] = token
    accepted = browser.post("/api/guardian/policy/reload", headers={"X-CSRFToken": token})
    assert accepted.status_code == 200, accepted.content
    # A GET needs no token.
    assert browser.get("/api/guardian/me").status_code == 200


def test_it_does_not_ask_a_bearer_key_for_csrf(api_key_headers):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        "/api/guardian/policy/reload", headers=api_key_headers(scopes=["ops:write"])
    )
    assert response.status_code == 200

"""GET /api/guardian/me: a key's scopes, limits, remaining budget and today's usage."""

from __future__ import annotations

import pytest

from guardian import ratelimit
from guardian.principals import key_principal

pytestmark = pytest.mark.django_db


def test_it_tells_a_key_what_it_may_do_and_what_is_left(client, mint_key):
    plaintext, key = mint_key(
        scopes=["models:read", "responses:write"], tenant="acme", rpm=30, tpm=9_000, quota=90_000
    )
    ratelimit.charge_tokens(key_principal(key), 1_000)
    response = client.get("/api/guardian/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200
    me = response.json()
    assert me["principal"] == "api_key"
    assert me["scopes"] == ["models:read", "responses:write"]
    assert me["key"]["prefix"] == key.prefix
    assert me["key"]["tenant"] == "acme"
    assert plaintext not in response.content.decode()
    assert me["limits"] == {
        "requests_per_minute": 30,
        "tokens_per_minute": 9_000,
        "daily_token_quota": 90_000,
    }
    assert me["remaining"]["requests"]["remaining"] == 29
    assert me["remaining"]["requests"]["limit"] == 30
    # 8,000 left, refilling at 150 a second since the charge.
    assert 8_000 <= me["remaining"]["tokens"]["remaining"] < 9_000
    assert me["remaining"]["daily_tokens"] == 89_000
    assert me["usage_today"] == {"requests": 1, "tokens": 1_000}
    assert me["tenant"]["slug"] == "acme"
    assert me["tenant"]["tokens_today"] == 1_000
    assert me["policy"] == {"name": "production", "mode": "strict"}
    assert me["degraded"] is False


def test_it_tells_a_dashboard_user_their_scopes(bob_client, alice_client):
    bob = bob_client.get("/api/guardian/me").json()
    assert bob["principal"] == "user"
    assert bob["user"] == {"username": "bob", "is_staff": True}
    assert "ops:write" in bob["scopes"]
    alice = alice_client.get("/api/guardian/me").json()
    assert "ops:write" not in alice["scopes"] and "ops:read" in alice["scopes"]
    assert alice["limits"] is None


def test_it_shows_the_same_budget_in_the_admin(client, bob_client, mint_key):
    plaintext, key = mint_key(scopes=[], rpm=30, quota=90_000)
    ratelimit.charge_tokens(key_principal(key), 1_234)
    client.get("/api/guardian/me", headers={"Authorization": f"Bearer {plaintext}"})
    page = bob_client.get(f"/admin/guardian/apikey/{key.pk}/change/").content.decode()
    assert "Today: 1 requests, 1234 tokens" in page
    assert "<td>tokens today (UTC)</td><td>90000</td><td>88766</td>" in page
    assert "<td>requests / minute</td><td>30</td><td>29</td>" in page


def test_it_has_stable_names_for_the_schema_and_urls():
    from django.urls import reverse

    from lukhas_site.api import api

    assert reverse("api:guardian-me") == "/api/guardian/me"
    assert reverse("api:guardian-usage") == "/api/guardian/usage"
    operations = {
        op.operation_id
        for prefix, router in api._routers
        if prefix.startswith("/guardian")
        for view in router.path_operations.values()
        for op in view.operations
    }
    assert operations == {
        "guardian_me",
        "guardian_usage_report",
        "guardian_policy",
        "guardian_policy_reload",
    }


def test_it_describes_bearer_auth_in_both_schemas(alice_client):
    for root, scheme in (("/api", "OpsAuth"), ("/v1", "V1Auth")):
        schema = alice_client.get(f"{root}/openapi.json").json()
        assert schema["components"]["securitySchemes"][scheme] == {
            "type": "http",
            "scheme": "bearer",
        }
    operation = alice_client.get("/api/openapi.json").json()["paths"]["/api/guardian/me"]["get"]
    assert operation["operationId"] == "guardian_me"
    assert operation["security"] == [{"OpsAuth": []}]

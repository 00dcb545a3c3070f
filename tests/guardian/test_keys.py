"""API keys: shown once, stored as a hash, revoked and expired, made by admin and commands."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from guardian import keys, services
from guardian.models import APIKey, Denial, Tenant
from tests.guardian.kit import derive_plaintext

pytestmark = pytest.mark.django_db

KEY_SHAPE = re.compile(r"^lk-[a-z0-9]{12}_[A-Za-z0-9_-]{43}$")


def _bearer(plaintext: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {plaintext}"}


def test_it_stores_only_a_keyed_hash_and_a_public_prefix():
    plaintext, key = services.api_key_create(name="ci", scopes=["models:read"])
    assert KEY_SHAPE.match(plaintext)
    assert plaintext.startswith(key.prefix + "_")
    row = APIKey.objects.values().get(pk=key.pk)
    secret = plaintext.split("_", 1)[1]
    assert not any(secret in str(value) for value in row.values())
    assert row["key_hash"] == keys.hash_key(plaintext)
    # Keyed: a bare SHA-256 of the key is not what is stored.
    import hashlib

    assert row["key_hash"] != hashlib.sha256(plaintext.encode()).hexdigest()


def test_it_needs_the_same_pepper_to_recognise_a_key(client, settings):
    plaintext, _ = services.api_key_create(name="ci", scopes=[])
    assert client.get("/api/guardian/me", headers=_bearer(plaintext)).status_code == 200
    settings.GUARDIAN_KEY_PEPPER = "another-pepper-" + "x" * 40
    settings.GUARDIAN_KEY_CACHE_SECONDS = 0
    assert client.get("/api/guardian/me", headers=_bearer(plaintext)).status_code == 401


def test_it_refuses_unknown_scopes_and_bad_limits():
    with pytest.raises(Exception, match="Unknown scope"):
        services.api_key_create(name="x", scopes=["models:delete"])
    with pytest.raises(Exception, match="requests_per_minute"):
        services.api_key_create(name="x", scopes=[], requests_per_minute=-1)


def test_it_mints_deterministic_kit_keys_per_test(mint_key, request):
    plaintext, _ = mint_key(scopes=["models:read"])
    assert plaintext == derive_plaintext(f"{request.node.nodeid}#0")
    assert KEY_SHAPE.match(plaintext)
    second, _ = mint_key(scopes=[])
    assert second != plaintext


@pytest.mark.parametrize("prefix", ["/api/guardian/me", "/v1/anything"])
def test_it_refuses_revoked_expired_and_inactive_tenant_keys(client, mint_key, prefix):
    plaintext, key = mint_key(scopes=["models:read"])
    ok = client.get(prefix, headers=_bearer(plaintext))
    assert ok.status_code in (200, 404)
    services.api_key_revoke(key=key)
    revoked = client.get(prefix, headers=_bearer(plaintext))
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "invalid_api_key"
    assert "revoked" in revoked.json()["error"]["message"]

    plaintext, key = mint_key(scopes=[], expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get(prefix, headers=_bearer(plaintext))
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]

    plaintext, key = mint_key(scopes=[], tenant="paused")
    Tenant.objects.filter(slug="paused").update(is_active=False)
    services.api_key_revoke(key=key)  # also drops the cached key
    plaintext, key = mint_key(scopes=[], tenant="paused")
    assert client.get(prefix, headers=_bearer(plaintext)).status_code == 401


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch):
    from guardian import selectors

    clock = _Clock()
    monkeypatch.setattr(selectors, "clock", clock)
    monkeypatch.setattr(services, "clock", clock)
    return clock


def test_it_revokes_across_processes_within_the_key_cache_lifetime(
    client, mint_key, settings, monotonic
):
    """Another process revoking: this one notices when its cache entry ages out."""
    settings.GUARDIAN_KEY_CACHE_SECONDS = 5
    plaintext, key = mint_key(scopes=[])
    assert client.get("/api/guardian/me", headers=_bearer(plaintext)).status_code == 200
    APIKey.objects.filter(pk=key.pk).update(revoked=True, revoked_at=timezone.now())
    monotonic.now += 4
    assert client.get("/api/guardian/me", headers=_bearer(plaintext)).status_code == 200
    monotonic.now += 2
    assert client.get("/api/guardian/me", headers=_bearer(plaintext)).status_code == 401


def test_it_updates_last_used_at_most_once_a_minute(client, mint_key, settings, monotonic):
    settings.GUARDIAN_KEY_CACHE_SECONDS = 600
    plaintext, key = mint_key(scopes=[])
    assert key.last_used_at is None
    with time_machine.travel(timezone.now(), tick=False) as wall:
        client.get("/api/guardian/me", headers=_bearer(plaintext))
        first = APIKey.objects.get(pk=key.pk).last_used_at
        assert first is not None
        wall.shift(30)
        monotonic.now += 30
        client.get("/api/guardian/me", headers=_bearer(plaintext))
        assert APIKey.objects.get(pk=key.pk).last_used_at == first
        wall.shift(31)
        monotonic.now += 31
        client.get("/api/guardian/me", headers=_bearer(plaintext))
        assert APIKey.objects.get(pk=key.pk).last_used_at > first


def test_it_audits_bad_keys_without_their_secret(client):
    bad = derive_plaintext("not-a-key-we-issued")
    response = client.get("/v1/anything", headers=_bearer(bad))
    assert response.status_code == 401
    denial = Denial.objects.get(kind="authentication")
    assert denial.reason == "invalid_api_key"
    assert denial.key_prefix == bad.split("_")[0]
    assert bad.split("_", 1)[1] not in str(Denial.objects.values().get(pk=denial.pk))


# --- commands --------------------------------------------------------------------


def test_it_creates_a_key_from_the_command_and_prints_only_it(client):
    out = io.StringIO()
    call_command(
        "create_api_key",
        "--name", "nightly", "--scopes", "models:read,responses:write",
        "--rpm", "5", "--tpm", "900", "--tenant", "acme", "--quota", "5000",
        stdout=out,
    )  # fmt: skip
    plaintext = out.getvalue().strip()
    assert KEY_SHAPE.match(plaintext), out.getvalue()
    key = APIKey.objects.get(name="nightly")
    assert (key.requests_per_minute, key.tokens_per_minute, key.daily_token_quota) == (5, 900, 5000)
    assert key.tenant.slug == "acme"
    assert sorted(key.scopes) == ["models:read", "responses:write"]
    assert client.get("/api/guardian/me", headers=_bearer(plaintext)).status_code == 200


def test_it_explains_a_bad_command_line():
    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_api_key", "--name", "x", "--scopes", "root", stdout=io.StringIO())
    with pytest.raises(CommandError, match="positive"):
        call_command(
            "create_api_key", "--name", "x", "--scopes", "ops:read", "--rpm", "0",
            stdout=io.StringIO(),
        )  # fmt: skip


def test_it_revokes_by_prefix_and_by_name(client):
    first, key = services.api_key_create(name="ci", scopes=[])
    out = io.StringIO()
    call_command("revoke_api_key", key.prefix, stdout=out)
    assert key.prefix in out.getvalue()
    assert client.get("/api/guardian/me", headers=_bearer(first)).status_code == 401

    services.api_key_create(name="twin", scopes=[])
    services.api_key_create(name="twin", scopes=[])
    with pytest.raises(CommandError, match="--all"):
        call_command("revoke_api_key", "--name", "twin", stdout=io.StringIO())
    call_command("revoke_api_key", "--name", "twin", "--all", stdout=io.StringIO())
    assert not APIKey.objects.filter(name="twin", revoked=False).exists()
    with pytest.raises(CommandError, match="No live API key"):
        call_command("revoke_api_key", "--name", "twin", stdout=io.StringIO())


# --- admin -----------------------------------------------------------------------


def test_it_renders_guardians_admin_pages(bob_client):
    for path in (
        "/admin/guardian/",
        "/admin/guardian/apikey/add/",
        "/admin/guardian/tenant/add/",
        "/admin/guardian/policyoverride/add/",
        "/admin/guardian/denial/",
    ):
        assert bob_client.get(path).status_code == 200, path
    response = bob_client.post(
        "/admin/guardian/tenant/add/",
        {"name": "Acme Labs", "slug": "acme-labs", "is_active": "on", "requests_per_minute": 50},
    )
    assert response.status_code == 302, response.content[:2000]
    assert Tenant.objects.get(slug="acme-labs").requests_per_minute == 50


def test_it_shows_the_plaintext_once_in_the_admin(bob_client):
    tenant = services.tenant_ensure(slug="acme")
    response = bob_client.post(
        "/admin/guardian/apikey/add/",
        {
            "name": "from-admin",
            "tenant": tenant.pk,
            "scopes": ["models:read", "ops:read"],
            "requests_per_minute": 30,
            "tokens_per_minute": 3000,
            "daily_token_quota": 30000,
        },
    )
    assert response.status_code == 200, response.content[:2000]
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    plaintext = re.search(r"lk-[a-z0-9]{12}_[A-Za-z0-9_-]{43}", page).group(0)
    key = APIKey.objects.get(name="from-admin")
    assert key.key_hash == keys.hash_key(plaintext)
    assert key.created_by.username == "bob"
    # Never again: not on the change page, the list, nor in any message or cookie.
    secret = plaintext.split("_", 1)[1]
    for path in (
        f"/admin/guardian/apikey/{key.pk}/change/",
        "/admin/guardian/apikey/",
        "/admin/",
    ):
        later = bob_client.get(path)
        assert later.status_code == 200
        assert secret not in later.content.decode()
        assert key.key_hash not in later.content.decode()
    assert secret not in str(bob_client.cookies)


def test_it_revokes_from_the_admin(bob_client, client, mint_key):
    plaintext, key = mint_key(scopes=[])
    response = bob_client.post(
        "/admin/guardian/apikey/",
        {"action": "revoke_selected", "_selected_action": [key.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Revoked 1 key" in response.content.decode()
    assert client.get("/api/guardian/me", headers=_bearer(plaintext)).status_code == 401


def test_it_edits_limits_in_the_admin_and_applies_them(bob_client, client, mint_key):
    plaintext, key = mint_key(scopes=["models:read"], rpm=100)
    response = bob_client.post(
        f"/admin/guardian/apikey/{key.pk}/change/",
        {
            "name": key.name,
            "tenant": key.tenant_id,
            "scopes": ["models:read"],
            "requests_per_minute": 7,
            "tokens_per_minute": key.tokens_per_minute,
            "daily_token_quota": key.daily_token_quota,
        },
    )
    assert response.status_code == 302, response.content[:3000]
    me = client.get("/api/guardian/me", headers=_bearer(plaintext))
    assert me.json()["limits"]["requests_per_minute"] == 7
    assert me["x-ratelimit-limit-requests"] == "7"

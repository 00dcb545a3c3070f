"""/system/plugins: who may read it, and what it says about plugins, stages and breakers."""

from __future__ import annotations

import pytest
from django.test import Client

from matriz.engine import default_registry
from matriz.runtime import reset_runtime, run_query

pytestmark = pytest.mark.django_db

URL = "/system/plugins"


def test_it_refuses_anonymous_callers_with_a_json_401(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert "ops:read" in error["message"]


def test_it_refuses_a_bad_key_and_a_key_without_ops_read(client, mint_key):
    bad = client.get(URL, headers={"Authorization": "Bearer lk-nope_nope"})
    assert bad.status_code == 401
    plaintext, _ = mint_key(scopes=["models:read"])
    refused = client.get(URL, headers={"Authorization": f"Bearer {plaintext}"})
    assert refused.status_code == 403
    assert "lacks the 'ops:read' scope" in refused.json()["error"]["message"]


def test_it_answers_keys_with_ops_read(client, mint_key):
    plaintext, _ = mint_key(scopes=["ops:read"])
    response = client.get(URL, headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200
    assert response.json()["registered"]


@pytest.mark.parametrize("persona", ["alice", "bob", "charlie"])
def test_it_answers_every_signed_in_user(persona, request):
    """Sessions carry the read scopes (ops data is for the whole release team), like /api."""
    session = Client()
    session.force_login(request.getfixturevalue(persona))
    assert session.get(URL).status_code == 200


def test_it_lists_entry_point_plugins_by_kind_with_their_factory_path(alice_client):
    body = alice_client.get(URL).json()
    assert body["discovery"] == "auto"
    nodes = {p["name"]: p for p in body["plugins"]["node"]}
    assert nodes["node:memory.recall"]["factory_path"] == "class_as_factory"
    assert nodes["node:thought.compose"]["factory_path"] == "factory_method"
    assert nodes["node:attention.rank"]["factory_path"] == "constructor"
    assert nodes["node:memory.recall"]["target"] == "matriz.engine.nodes:MemoryRecallNode"
    assert body["plugins"]["monitor"][0]["name"] == "monitor:prometheus"
    assert "node:memory.recall" in body["registered"]
    assert body["errors"] == []
    memory = next(s for s in body["stages"] if s["stage"] == "memory")
    assert memory["nodes"] == [
        {
            "name": "memory.recall",
            "plugin": "node:memory.recall",
            "built": "class_as_factory: built with the runtime's store",
        }
    ]
    action = next(s for s in body["stages"] if s["stage"] == "action")
    assert action["critical"] is True
    assert {b["node"]: b["state"] for b in body["breakers"]}["memory.recall"] == "closed"


def test_it_reports_a_broken_plugin_and_one_it_cannot_build(alice_client):
    default_registry.register_target("node:broken.import", "matriz.no_such_module:Node")
    default_registry.register_target("node:needs.model", "matriz.engine.orchestrator:QueryError")
    try:
        reset_runtime()  # the pipeline is built from the registry as it is now
        body = alice_client.get(URL).json()
    finally:
        default_registry.unregister("node:broken.import")
        default_registry.unregister("node:needs.model")
    errors = {e["name"]: e["error"] for e in body["errors"]}
    assert errors["node:broken.import"].startswith("ModuleNotFoundError")
    assert "constructor needs" in errors["node:needs.model"]
    assert "node:broken.import" not in body["registered"]


def test_it_shows_a_breaker_that_opened(alice_client, make_index, settings):
    settings.MATRIZ_BREAKER_MIN_CALLS = 2
    settings.MATRIZ_BREAKER_WINDOW = 2
    runtime = reset_runtime()
    make_index(texts=["a memory"])
    breaker = runtime.orchestrator().breakers["thought.compose"]
    breaker.record_failure(0.01)
    breaker.record_failure(0.01)
    run_query(text="a memory", indexes=["notes"], owner="acme")
    body = alice_client.get(URL).json()
    state = {b["node"]: b for b in body["breakers"]}["thought.compose"]
    assert state["state"] == "open" and state["trips"] == 1

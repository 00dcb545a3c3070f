"""The two API roots: JSON errors in their own shapes, field paths named."""

from __future__ import annotations

import pytest
from ninja import Schema
from ninja.testing import TestClient

from lukhas_site.api import LukhasAPI, OpenAIAPI, field_path
from lukhas_site.errors import NotFound, RuleViolation

pytestmark = pytest.mark.django_db


class Message(Schema):
    role: str
    content: str


class ChatIn(Schema):
    model: str
    messages: list[Message]
    temperature: float = 1.0


def _build(api_class: type[LukhasAPI], namespace: str) -> TestClient:
    api = api_class(urls_namespace=namespace)

    @api.post("/chat")
    def chat(request, body: ChatIn) -> dict:
        return {"ok": True}

    @api.get("/things/{pk}")
    def thing(request, pk: int) -> dict:
        raise NotFound(f"thing {pk} does not exist", param="pk")

    @api.post("/rule")
    def rule(request) -> dict:
        raise RuleViolation("CC-3 cannot start: it depends on B, which is not done")

    @api.get("/crash")
    def crash(request) -> dict:
        raise RuntimeError("boom with lk-abcdef0123456789")

    return TestClient(api)


@pytest.fixture
def v1_client() -> TestClient:
    return _build(OpenAIAPI, "test-v1")


@pytest.fixture
def ops_client() -> TestClient:
    return _build(LukhasAPI, "test-ops")


def test_it_answers_v1_validation_errors_as_openai_400_naming_the_field(v1_client):
    response = v1_client.post(
        "/chat", json={"model": "m", "messages": [{"role": "user", "content": 5}]}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages[0].content"
    assert "messages[0].content" in error["message"]


def test_it_answers_v1_missing_fields_naming_them(v1_client):
    response = v1_client.post("/chat", json={"messages": []})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "model"


def test_it_answers_ops_validation_errors_in_the_ops_shape(ops_client):
    response = ops_client.post("/chat", json={"model": "m", "messages": [{"role": "user"}]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["param"] == "messages[0].content"
    assert error["errors"] == [{"param": "messages[0].content", "message": "Field required"}]


def test_it_answers_bad_json_with_400(v1_client, ops_client):
    for api_client in (v1_client, ops_client):
        response = api_client.post("/chat", data=b"{not json", content_type="application/json")
        assert response.status_code == 400
        assert "error" in response.json()


def test_it_maps_service_errors_once(v1_client, ops_client):
    missing = v1_client.get("/things/7")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "message": "thing 7 does not exist",
        "type": "invalid_request_error",
        "param": "pk",
        "code": "not_found",
    }
    refused = ops_client.post("/rule")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "rule_violation"
    assert "depends on B" in refused.json()["error"]["message"]


def test_it_answers_a_crash_with_a_json_500_without_secrets(v1_client):
    response = v1_client.get("/crash")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error"
    assert "lk-abcdef" not in response.content.decode()


@pytest.mark.parametrize("path", ["/v1/", "/v1/nope", "/v1/models/x/y/z", "/api/nope/1"])
def test_it_answers_unknown_routes_with_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "unknown_route"


@pytest.mark.parametrize("path", ["/v1/nope", "/api/nope"])
def test_it_answers_unknown_post_routes_with_json_404_not_a_csrf_page(path):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(path, {"x": 1})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_route"


def test_it_separates_the_openai_and_ops_envelopes(client):
    v1_error = client.get("/v1/nope").json()["error"]
    api_error = client.get("/api/nope").json()["error"]
    assert set(v1_error) == {"message", "type", "param", "code"}
    assert set(api_error) == {"code", "message", "param"}


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("body", "body", "messages", 0, "role"), "messages[0].role"),
        (("body", "payload", "input"), "input"),
        (("query", "limit"), "limit"),
        (("path", "pk"), "pk"),
        (("body", "model"), "model"),
        (("query", "filters", "status", 0), "status[0]"),
    ],
)
def test_it_writes_field_paths_as_clients_spell_them(loc, expected):
    assert field_path(loc) == expected


def test_it_serves_each_roots_docs_and_schema_to_signed_in_users(alice_client, client):
    for root in ("/api", "/v1"):
        assert client.get(f"{root}/openapi.json").status_code == 302
        schema = alice_client.get(f"{root}/openapi.json")
        assert schema.status_code == 200
        assert schema.json()["openapi"].startswith("3.")
        docs = alice_client.get(f"{root}/docs")
        assert docs.status_code == 200
        assert b"cdn" not in docs.content.lower()


def _schemas(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_schemas(sub))
    return found


def test_no_two_api_schemas_share_a_name():
    """OpenAPI components are keyed by class name: a second ``SnapshotOut`` silently
    replaces the first in the document, and clients validate against the wrong one."""
    from django.urls import get_resolver

    assert get_resolver().url_patterns  # every router (and its schemas) is imported
    apps = (
        "guardian",
        "matriz",
        "coordination",
        "soak",
        "audits",
        "jobs",
        "accounts",
        "lukhas_site",
    )
    owners: dict[str, set[str]] = {}
    for schema in _schemas(Schema):
        # "Input" is the model ninja builds per operation for its parameters: never a component.
        if schema.__module__.split(".")[0] in apps and schema.__name__ != "Input":
            owners.setdefault(schema.__name__, set()).add(schema.__module__)
    assert {name: mods for name, mods in owners.items() if len(mods) > 1} == {}

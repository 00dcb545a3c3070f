"""Liveness and readiness, as a load balancer and an operator see them."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_it_answers_liveness_without_io(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"]


def test_it_reports_each_check_with_latency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    by_name = {check["name"]: check for check in body["checks"]}
    assert {"database", "cache", "broker"} <= set(by_name)
    for name in ("database", "cache", "broker"):
        check = by_name[name]
        assert check["ok"] is True
        assert check["required"] is True
        assert check["error"] is None
        assert isinstance(check["latency_ms"], float)


@pytest.fixture
def broken_database():
    """Point the default connection at a database that cannot be opened."""
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/lukhas/db.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"  # nothing listens on port 1
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(original)


@pytest.mark.django_db(transaction=True)
def test_it_reports_a_broken_database_as_503_naming_the_check(client, broken_database, settings):
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    # In embedded mode the cache lives in the database, so it fails with it.
    assert body["failing"] == (["database", "cache"] if not settings.REDIS_URL else ["database"])
    database = next(c for c in body["checks"] if c["name"] == "database")
    assert database["ok"] is False
    assert database["error"]  # the driver's message, for the operator


def test_it_reports_a_broken_broker_as_503(client, settings, tmp_path):
    if settings.REDIS_URL:
        pytest.skip("the filesystem broker only exists in embedded mode")
    settings.BROKER_DIR = tmp_path / "missing-broker"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_it_lets_apps_register_optional_checks(client):
    from lukhas_site import health

    def failing_optional() -> str:
        raise RuntimeError("nobody home")

    health.register_check("test-optional", failing_optional, required=False)
    try:
        response = client.get("/readyz")
    finally:
        health._checks.pop("test-optional")
    assert response.status_code == 200  # optional checks never make the site unready
    check = next(c for c in response.json()["checks"] if c["name"] == "test-optional")
    assert check == {
        "name": "test-optional",
        "ok": False,
        "required": False,
        "latency_ms": check["latency_ms"],
        "error": "RuntimeError: nobody home",
        "detail": None,
    }

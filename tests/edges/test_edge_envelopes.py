"""Every error /v1 and /api answer is JSON in their envelope; pages keep HTML (issue 9 item 2).

Walks the status codes Django itself produces around the API roots: a bad
Host (400), a body over the limit (413, the WSGI path: Django's test client
is WSGI, where the ASGI guard does not run), an unknown route (404), a
wrong method (405), a crash in a middleware (500).
"""

from __future__ import annotations

import pytest
from django.test import Client

OPENAI_KEYS = {"message", "type", "param", "code"}
OPS_KEYS = {"code", "message", "param"}

pytestmark = pytest.mark.django_db


class ExplodingMiddleware:
    """A middleware with a bug: an unhandled exception outside ninja."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise RuntimeError("a middleware bug")


def envelope(response) -> dict:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.json()["error"]


@pytest.mark.parametrize(("prefix", "keys"), [("/v1", OPENAI_KEYS), ("/api", OPS_KEYS)])
def test_it_answers_django_refusals_in_the_envelope(client, settings, prefix, keys):
    walk = {
        400: client.get(f"{prefix}/models", headers={"Host": "evil.example"}),
        404: client.get(f"{prefix}/no-such-route"),
        413: client.post(
            f"{prefix}/chat/completions",
            data=b"{}",
            content_type="application/json",
            headers={"Idempotency-Key": "edge-413"},
            CONTENT_LENGTH=str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        ),
    }
    for status, response in walk.items():
        assert response.status_code == status, (status, response.content[:200])
        assert set(envelope(response)) >= keys
    assert envelope(walk[400])["code"] == "invalid_host"
    assert envelope(walk[413])["code"] == "request_too_large"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert f"limit of {limit} bytes" in envelope(walk[413])["message"]


def test_it_answers_a_wrong_method_in_the_openai_envelope(client):
    response = client.delete("/v1/models")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert envelope(response) == {
        "message": "DELETE is not allowed on /v1/models; allowed: GET.",
        "type": "invalid_request_error",
        "param": None,
        "code": "method_not_allowed",
    }


@pytest.mark.parametrize(("path", "keys"), [("/v1/models", OPENAI_KEYS), ("/api/x", OPS_KEYS)])
def test_it_answers_a_crash_in_a_middleware_in_the_envelope(settings, path, keys):
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "tests.edges.test_edge_envelopes.ExplodingMiddleware",
    ]
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 500
    error = envelope(response)
    assert set(error) >= keys
    assert error["code"] == "server_error"
    assert "a middleware bug" not in error["message"]
    assert response["X-Request-ID"] in error["message"]


def test_it_keeps_html_error_pages_outside_the_apis(client, settings):
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert missing["Content-Type"].startswith("text/html")
    bad_host = client.get("/", headers={"Host": "evil.example"})
    assert bad_host.status_code == 400
    assert bad_host["Content-Type"].startswith("text/html")

"""Every URL of the site needs auth, except the few that must not.

The walk resolves the whole urlconf recursively (so a page or operation
another app adds tomorrow is walked too), fills path converters with sample
values and calls each URL anonymously with every method.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, converters, get_resolver, resolve
from django.utils.regex_helper import normalize

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")

# Open on purpose: probes, scraping (token optional), signing in and out.
OPEN_NAMES = {
    "healthz",
    "readyz",
    "login",
    "logout",
    "admin:login",
    "admin:logout",
    "admin-login",  # accounts' lockout-aware admin login
    # Single sign-on's start and callback (404 while OIDC is off, the default).
    "oidc_authentication_init",
    "oidc_authentication_callback",
}
# The roots' JSON 404 for unknown routes: no data behind them (checked below).
UNKNOWN_ROUTE_NAMES = {"api-not-found", "v1-not-found", "api:api-root", "v1:api-root"}
# Webhooks prove who sent them with a signature of their own, not a key or a
# session: unsigned, they must be refused (any 4xx/5xx), never served.
SIGNED_WEBHOOK_NAMES = {"api:coordination-github-webhook"}

_SAMPLES = {
    converters.IntConverter: "1",
    converters.SlugConverter: "sample-slug",
    converters.UUIDConverter: str(uuid.UUID(int=1)),
    converters.PathConverter: "sample/path",
    converters.StringConverter: "sample",
}
_REGEX_CANDIDATES = ("1", "sample", "auth", "guardian", "sample/path")


@dataclass
class Walked:
    path: str
    name: str


def _fill(pattern: URLPattern | URLResolver) -> str:
    """A concrete piece of path that the pattern matches."""
    regex = pattern.pattern.regex
    fmt, params = normalize(regex.pattern)[0]
    values = {}
    for param in params:
        converter = getattr(pattern.pattern, "converters", {}).get(param)
        if converter is not None:
            values[param] = _SAMPLES.get(type(converter), "sample")
            continue
        group = re.search(rf"\(\?P<{param}>([^)]*)\)", regex.pattern)
        group_regex = group.group(1) if group else ".*"
        values[param] = next(
            (c for c in _REGEX_CANDIDATES if re.fullmatch(group_regex, c)),
            "sample",
        )
    return fmt % values


def walk(patterns: list, prefix: str = "", namespace: str = "") -> list[Walked]:
    found = []
    for pattern in patterns:
        piece = _fill(pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
            found += walk(pattern.url_patterns, prefix + piece, inner.strip(":"))
        else:
            name = f"{namespace}:{pattern.name}".strip(":") if pattern.name else ""
            found.append(Walked("/" + prefix + piece, name))
    return found


def _is_auth_answer(response) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code in (301, 302):
        return "/login/" in response.get("Location", "")
    return False


def test_it_walks_a_sane_number_of_urls():
    walked = walk(get_resolver().url_patterns)
    paths = {w.path for w in walked}
    # The walk must see the apps' own routes, the admin and both API roots.
    assert "/api/guardian/me" in paths
    assert any(p.startswith("/admin/guardian/apikey/") for p in paths)
    assert any(p.startswith("/v1/") for p in paths)
    assert len(walked) > 40


def test_it_requires_auth_on_every_url_but_probes_login_and_metrics(client, settings):
    settings.METRICS_TOKEN = ""
    walked = walk(get_resolver().url_patterns)
    failures = []
    for item in walked:
        match = resolve(item.path)  # the sample values really reach the pattern
        name = f"{match.namespace}:{match.url_name}".strip(":") if match.url_name else ""
        if name in OPEN_NAMES or item.path == "/metrics":
            continue
        for method in METHODS:
            response = getattr(client, method)(item.path)
            if response.status_code == 405:
                continue  # this URL does not take that method
            if name in UNKNOWN_ROUTE_NAMES or (
                response.status_code == 404
                and response.get("Content-Type") == "application/json"
                and response.json()["error"]["code"] == "unknown_route"
            ):
                continue
            if name in SIGNED_WEBHOOK_NAMES and response.status_code >= 400:
                continue
            if not _is_auth_answer(response):
                failures.append(f"{method.upper()} {item.path} ({name}) -> {response.status_code}")
    assert not failures, "URLs answering without auth:\n" + "\n".join(failures)


def test_it_answers_unknown_routes_without_any_data(client):
    for path in ("/v1/no-such-thing", "/api/no/such/thing"):
        response = client.get(path)
        assert response.status_code == 404
        assert set(response.json()) == {"error"}
        assert response.json()["error"]["code"] == "unknown_route"


def test_it_keeps_the_open_urls_open(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code in (200, 503)
    assert client.get("/metrics").status_code == 200
    assert client.get("/accounts/login/").status_code == 200


def test_it_closes_metrics_when_a_token_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert client.get("/metrics").status_code == 401


def test_it_answers_every_api_operation_with_401_in_the_roots_envelope(client):
    """Anonymous and bad-key calls to every /api and /v1 operation: 401 invalid_api_key."""
    walked = [
        w
        for w in walk(get_resolver().url_patterns)
        if w.path.startswith(("/api/", "/v1/"))
        and w.name not in UNKNOWN_ROUTE_NAMES | SIGNED_WEBHOOK_NAMES
        and not w.name.endswith(("openapi-json", "openapi-view"))
    ]
    assert walked, "no API operations found"
    bad_key = {"Authorization": "Bearer lk-aaaaaaaaaaaa_" + "x" * 43}
    for item in walked:
        for headers in ({}, bad_key):
            seen = []
            for method in METHODS:
                response = getattr(client, method)(item.path, headers=headers)
                seen.append(response.status_code)
                if response.status_code == 405:
                    continue
                assert response.status_code == 401, (method, item.path, response.content)
                error = response.json()["error"]
                assert error["code"] == "invalid_api_key"
                if item.path.startswith("/v1/"):
                    assert set(error) == {"message", "type", "param", "code"}
                else:
                    assert set(error) == {"code", "message", "param"}
            assert 401 in seen, (item.path, seen)

"""The UI shell: login-protected pages, navigation, readiness, static files offline."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = ["overview", "coordination", "soak", "health", "audits", "matriz", "api-docs"]


@pytest.mark.parametrize("name", [*PAGES, "readiness-fragment"])
def test_it_sends_anonymous_users_to_login(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_it_sends_anonymous_users_from_admin_to_admin_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_it_logs_in_and_lands_on_the_overview_with_readiness(client, alice):
    login = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert login.status_code == 302
    assert login["Location"] == reverse("overview")
    page = client.get(reverse("overview"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Readiness" in html
    assert 'data-check="database"' in html
    assert "Ready" in html


def test_it_refuses_a_wrong_password_with_a_form_error(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


@pytest.mark.parametrize("name", PAGES)
def test_it_renders_every_page_with_the_navigation(alice_client, name):
    html = alice_client.get(reverse(name)).content.decode()
    for label in (
        "Overview",
        "Coordination",
        "Soak",
        "Service health",
        "Codebase health",
        "MATRIZ",
    ):
        assert f">{label}</a>" in html
    assert 'aria-current="page"' in html
    assert "cdn." not in html.lower()


def test_it_shows_admin_in_the_navigation_to_staff_only(alice_client, bob_client):
    assert ">Admin</a>" not in alice_client.get("/").content.decode()
    assert ">Admin</a>" in bob_client.get("/").content.decode()


def test_it_brands_the_admin(bob_client):
    html = bob_client.get("/admin/").content.decode()
    assert "LUKHAS" in html
    assert "Django administration" not in html


def test_it_serves_plotly_from_the_installed_package(client):
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"plotly" in body[:2000].lower()


def test_it_serves_the_site_stylesheet(client):
    assert client.get("/static/css/site.css").status_code == 200


def test_it_polls_readiness_as_a_fragment(alice_client):
    response = alice_client.get(reverse("readiness-fragment"))
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert b'data-check="database"' in response.content

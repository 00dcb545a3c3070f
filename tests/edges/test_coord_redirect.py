"""Finding 10 of issue 10: the board's move form never redirects off the site."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coordination.models import Task
from tests.coordination import conftest as coordination_fixtures

pytestmark = pytest.mark.django_db

# The coordination fixtures, shared with tests/coordination.
coordinator = coordination_fixtures.coordinator
make_task = coordination_fixtures.make_task


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "javascript:alert(1)",
        "\\\\evil.example",
    ],
)
def test_it_refuses_an_evil_next(alice_client, coordinator, make_task, target):
    task = make_task("A")
    response = alice_client.post(
        reverse("coordination-task-move", args=[task.pk]), {"to": "in_progress", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("coordination")
    assert Task.objects.get(pk=task.pk).status == "in_progress"


def test_it_refuses_an_evil_next_after_a_refused_move_too(alice_client, coordinator, make_task):
    task = make_task("A")
    response = alice_client.post(
        reverse("coordination-task-move", args=[task.pk]),
        {"to": "done", "next": "https://evil.example/phish"},
    )
    assert response["Location"] == reverse("coordination")


def test_it_keeps_a_next_on_this_site(alice_client, coordinator, make_task):
    task = make_task("A")
    page = reverse("coordination-task", args=[task.pk])
    response = alice_client.post(
        reverse("coordination-task-move", args=[task.pk]), {"to": "in_progress", "next": page}
    )
    assert response["Location"] == page

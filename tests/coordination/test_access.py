"""One authorization path: the board, the admin's bulk actions and the API ask Guardian alike."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from coordination.models import Task
from guardian.models import Denial, PolicyOverride
from tests.coordination.conftest import grant

pytestmark = pytest.mark.django_db

KILLED = "Guardian's kill switch is on for policy production: every operation is refused."


@pytest.fixture
def kill_switch(settings):
    """Flip the production policy's kill switch as a maintainer does in the admin."""
    settings.GUARDIAN_POLICY_REFRESH_SECONDS = 0
    PolicyOverride.objects.create(policy="production", kill_switch=True, note="incident 42")


def test_it_refuses_a_board_move_when_the_kill_switch_is_on(
    alice_client, coordinator, make_task, kill_switch
):
    task = make_task("A")
    assert coordinator.has_perm("coordination.change_task")  # the permission alone would pass
    response = alice_client.post(
        reverse("coordination-task-move", args=[task.pk]),
        {"to": "in_progress"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": {"code": "insufficient_permissions", "message": KILLED, "param": "ops:write"}
    }
    assert Task.objects.get(pk=task.pk).status == "todo"
    assert Denial.objects.filter(reason="kill_switch", action="ops:write").exists()


def test_it_refuses_a_form_post_move_with_a_message(
    alice_client, coordinator, make_task, kill_switch
):
    task = make_task("A")
    response = alice_client.post(
        reverse("coordination-task-move", args=[task.pk]), {"to": "in_progress"}
    )
    assert response.status_code == 403
    assert "kill switch is on" in response.content.decode()
    assert Task.objects.get(pk=task.pk).status == "todo"


def test_it_refuses_an_admin_bulk_action_when_the_kill_switch_is_on(
    bob_client, bob, make_task, kill_switch
):
    task = make_task("A")
    response = bob_client.post(
        reverse("admin:coordination_task_changelist"),
        {
            "action": "set_status",
            "_selected_action": [task.pk],
            "status": "in_progress",
            "apply": "1",
        },
        follow=True,
    )
    assert KILLED in [str(m) for m in get_messages(response.wsgi_request)]
    assert Task.objects.get(pk=task.pk).status == "todo"


def test_it_still_moves_with_the_kill_switch_off(alice_client, coordinator, make_task, settings):
    settings.GUARDIAN_POLICY_REFRESH_SECONDS = 0
    PolicyOverride.objects.create(policy="production", kill_switch=False)
    task = make_task("A")
    response = alice_client.post(
        reverse("coordination-task-move", args=[task.pk]),
        {"to": "in_progress"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200, response.content
    assert Task.objects.get(pk=task.pk).status == "in_progress"


def test_it_refuses_an_admin_bulk_action_without_the_change_permission(client, charlie, make_task):
    """A staff user with view rights only: the admin offers no bulk action that changes."""
    charlie.is_staff = True
    charlie.save()
    grant(charlie, "view_task")
    client.force_login(charlie)
    task = make_task("A")
    client.post(
        reverse("admin:coordination_task_changelist"),
        {"action": "set_status", "_selected_action": [task.pk], "status": "in_progress"},
    )
    assert Task.objects.get(pk=task.pk).status == "todo"


def test_it_refuses_an_admin_change_form_save_when_the_kill_switch_is_on(
    bob_client, bob, make_task, kill_switch
):
    task = make_task("A")
    url = reverse("admin:coordination_task_change", args=[task.pk])
    response = bob_client.post(url, {"key": "A", "title": "Renamed by the form"})
    assert response.status_code == 302
    assert response["Location"] == url
    assert Task.objects.get(pk=task.pk).title == "Task A"
    assert any("kill switch" in str(m) for m in get_messages(response.wsgi_request))

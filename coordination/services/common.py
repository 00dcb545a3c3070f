"""What every coordination service shares: who signs a change, the events it writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from coordination.models import ActorKind, Agent, Task, TaskEvent, TaskStatus, Track
from lukhas_site.errors import InvalidRequest

S = TaskStatus

# Who signs changes: a site user, an agent, or a label ("system", "github:octocat").
Actor = AbstractBaseUser | AnonymousUser | Agent | str | None


# --------------------------------------------------------------------------- actors, events


def _actor_fields(by: Actor) -> dict[str, Any]:
    if isinstance(by, Agent):
        return {"actor_kind": ActorKind.AGENT, "agent": by}
    if isinstance(by, str):
        kind = ActorKind.WEBHOOK if by.startswith(("github", "webhook")) else ActorKind.SYSTEM
        return {"actor_kind": kind, "actor_label": by}
    if by is None or not getattr(by, "is_authenticated", False):
        return {"actor_kind": ActorKind.SYSTEM, "actor_label": "system"}
    return {"actor_kind": ActorKind.USER, "user": by}


def _display(value: Any) -> str:
    """How a field value reads in the history: names, not ids."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Agent | Track):
        return value.name
    if isinstance(value, list | tuple):
        return ", ".join(_display(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _event(
    task: Task, by: Actor, field: str, old: Any = "", new: Any = "", message: str = ""
) -> TaskEvent:
    return TaskEvent(
        task=task,
        field=field,
        from_value=_display(old),
        to_value=_display(new),
        message=message,
        **_actor_fields(by),
    )


def task_record_event(
    *, task: Task, by: Actor, field: str, message: str, old: Any = "", new: Any = ""
) -> TaskEvent:
    """Write down something that happened to a task without changing it (a refused merge)."""
    event = _event(task, by, field, old, new, message)
    event.save()
    return event


# --------------------------------------------------------------------------- checks


def _status(value: str, param: str = "to") -> str:
    value = (value or "").strip()
    if value not in TaskStatus.values:
        raise InvalidRequest(
            f"{value!r} is not a status; use one of: {', '.join(TaskStatus.values)}.",
            param=param,
            code="invalid_status",
        )
    return value

"""Creating and editing tasks (not their status) and their acceptance items."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from coordination.models import (
    AcceptanceItem,
    Agent,
    Priority,
    Risk,
    Task,
    TaskEvent,
    is_web_url,
    status_label,
)
from coordination.services.common import Actor, S, _event, _status
from coordination.services.transitions import task_transition
from lukhas_site.errors import Conflict, InvalidRequest, RuleViolation

# --------------------------------------------------------------------------- task fields

# Fields task_update may change; status goes through task_transition.
UPDATABLE_FIELDS = (
    "title",
    "track",
    "owner",
    "reviewer",
    "priority",
    "risk",
    "estimate_min_hours",
    "estimate_max_hours",
    "files",
    "branch",
    "pr_url",
    "pr_number",
    "ci_conclusion",
    "requires_critical_review",
    "blocked_reason",
    "goal",
    "notes",
    "source_plan",
    "source_line",
)


def _validate_fields(key: str, fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(UPDATABLE_FIELDS) - {"collaborators"}
    if unknown:
        raise InvalidRequest(
            f"Cannot set {', '.join(sorted(unknown))} on a task.", param=sorted(unknown)[0]
        )
    if "title" in fields and not str(fields["title"] or "").strip():
        raise InvalidRequest(f"{key} needs a title.", param="title")
    for name, choices in (("priority", Priority), ("risk", Risk)):
        if name in fields and fields[name] is not None and fields[name] not in choices.values:
            raise InvalidRequest(
                f"{fields[name]!r} is not a {name}; use one of: {', '.join(choices.values)}.",
                param=name,
            )
    for name in ("estimate_min_hours", "estimate_max_hours"):
        value = fields.get(name)
        if value is not None and value < 0:
            raise InvalidRequest(f"{name} cannot be negative.", param=name)
    if "files" in fields and not isinstance(fields["files"], list):
        raise InvalidRequest("files must be a list of paths.", param="files")
    pr_url = fields.get("pr_url")
    if pr_url and not is_web_url(str(pr_url).strip()):
        raise InvalidRequest(
            f"pr_url must be an http:// or https:// URL; {str(pr_url)[:80]!r} is not.",
            param="pr_url",
            code="invalid_url",
        )


def _check_estimate(task: Task) -> None:
    low, high = task.estimate_min_hours, task.estimate_max_hours
    if low is not None and high is not None and low > high:
        raise InvalidRequest(
            f"{task.key}: the minimum estimate ({low:g}h) exceeds the maximum ({high:g}h).",
            param="estimate_min_hours",
        )


def task_create(*, by: Actor, key: str, title: str, **fields: Any) -> Task:
    """A new task in ``todo`` (or the ``status`` given, for imports of finished work)."""
    key = (key or "").strip()
    if not key:
        raise InvalidRequest("A task needs a key (e.g. CC-1, #1, A).", param="key")
    collaborators = fields.pop("collaborators", None) or []
    # The plan import's merge base: set at creation, never through task_update.
    imported_fields = fields.pop("imported_fields", None) or {}
    status = _status(fields.pop("status", S.TODO) or S.TODO, param="status")
    _validate_fields(key, {"title": title, **fields})
    if status == S.BLOCKED and not str(fields.get("blocked_reason") or "").strip():
        raise RuleViolation(f"Say why {key} is blocked.", param="blocked_reason")
    with transaction.atomic():
        plan = fields.get("source_plan")
        if Task.objects.filter(key=key, source_plan=plan).exists():
            where = f" in plan {plan.slug}" if plan is not None else ""
            raise Conflict(f"A task with the key {key!r} exists already{where}.", param="key")
        task = Task(
            key=key,
            title=title.strip(),
            status=status,
            imported_fields=imported_fields,
            **fields,
        )
        if status != S.TODO:
            task.status_changed_at = timezone.now()
        _check_estimate(task)
        task.save()
        if collaborators:
            task.collaborators.set(collaborators)
        _event(task, by, "created", "", key, f"created as {status_label(status).lower()}").save()
    return task


def task_update(*, task: Task, by: Actor, **changes: Any) -> Task:
    """Change task fields (not status: see ``task_transition``), one event per field."""
    if "status" in changes:
        status = changes.pop("status")
        reason = changes.pop("blocked_reason", None)
        task = task_update(task=task, by=by, **changes) if changes else task
        return task_transition(task=task, to=status, by=by, reason=reason)
    _validate_fields(task.key, changes)
    collaborators = changes.pop("collaborators", None)
    with transaction.atomic():
        current = Task.objects.select_for_update().get(pk=task.pk)
        events: list[TaskEvent] = []
        changed: list[str] = []
        for name, new in changes.items():
            old = getattr(current, name)
            if isinstance(new, str):
                new = new.strip() if name not in ("notes", "goal") else new
            if old == new:
                continue
            if name == "blocked_reason" and current.status == S.BLOCKED and not new:
                raise RuleViolation(
                    f"{current.key} is blocked: it keeps a reason until it is unblocked.",
                    param="blocked_reason",
                )
            setattr(current, name, new)
            changed.append(name)
            events.append(_event(current, by, name, old, new))
        if "reviewer" in changed and current.approved_at:
            current.approved_by, current.approved_at = None, None
            changed += ["approved_by", "approved_at"]
            events.append(_event(current, by, "approval", "approved", "", "reviewer changed"))
        if changed:
            _check_estimate(current)
            current.save(update_fields=[*changed, "updated_at"])
        if collaborators is not None:
            before = list(current.collaborators.order_by("name"))
            after = sorted(set(collaborators), key=lambda a: a.name)
            if [a.pk for a in before] != [a.pk for a in after]:
                current.collaborators.set(after)
                events.append(_event(current, by, "collaborators", before, after))
        TaskEvent.objects.bulk_create(events)
    return current


def task_assign(*, task: Task, owner: Agent | None, by: Actor) -> Task:
    return task_update(task=task, by=by, owner=owner)


def acceptance_item_set(*, item: AcceptanceItem, done: bool, by: Actor) -> AcceptanceItem:
    with transaction.atomic():
        changed = AcceptanceItem.objects.filter(pk=item.pk, done=not done).update(
            done=done, updated_at=timezone.now()
        )
        if changed:
            _event(
                item.task,
                by,
                "acceptance",
                f"[{'x' if not done else ' '}] {item.text}",
                f"[{'x' if done else ' '}] {item.text}",
            ).save()
        item.done = done
    return item


def acceptance_item_add(*, task: Task, text: str, by: Actor, done: bool = False) -> AcceptanceItem:
    text = (text or "").strip()
    if not text:
        raise InvalidRequest("An acceptance item needs text.", param="text")
    with transaction.atomic():
        last = task.acceptance_items.order_by("-position").values_list("position", flat=True)
        item = AcceptanceItem.objects.create(
            task=task, text=text, done=done, position=(last.first() or 0) + 1
        )
        _event(task, by, "acceptance", "", f"[{'x' if done else ' '}] {text}", "added").save()
    return item


def acceptance_item_remove(*, item: AcceptanceItem, by: Actor) -> None:
    with transaction.atomic():
        old = f"[{'x' if item.done else ' '}] {item.text}"
        _event(item.task, by, "acceptance", old, "", "removed").save()
        item.delete()

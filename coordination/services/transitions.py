"""Moving a task between statuses, and approving its critical review."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from coordination.models import (
    TRANSITIONS,
    WORKING_STATUSES,
    AcceptanceItem,
    Agent,
    Task,
    TaskEvent,
    status_label,
)
from coordination.services.common import Actor, S, _event, _status
from lukhas_site.errors import Conflict, NotFound, RuleViolation

# --------------------------------------------------------------------------- transitions


def _open_dependencies(task: Task) -> list[Task]:
    return list(
        Task.objects.filter(blocks_links__blocked=task)
        .exclude(status=S.DONE)
        .only("key", "status")
        .order_by("key")
    )


def transition_check(task: Task, to: str, reason: str | None = None) -> None:
    """Raise RuleViolation when ``task`` may not move to ``to`` now; write nothing.

    The admin form calls this to show a refusal next to the field before saving.
    """
    to = _status(to)
    current = task.status
    reason = (reason or "").strip()
    if to == current:
        if to == S.BLOCKED and not reason and not task.blocked_reason:
            raise RuleViolation(f"Say why {task.key} is blocked.", param="reason")
        return
    allowed = TRANSITIONS[current]
    if to not in allowed:
        raise RuleViolation(
            f"{task.key} cannot go from {status_label(current)} to {status_label(to)}. "
            f"From {status_label(current)} it can go to: "
            f"{', '.join(status_label(s) for s in allowed)}.",
            param="to",
            code="invalid_transition",
            details={"from": current, "to": to, "allowed": list(allowed)},
        )
    if to == S.BLOCKED and not reason:
        raise RuleViolation(
            f"Say why {task.key} is blocked: a blocked task needs a reason.",
            param="reason",
            code="reason_required",
        )
    if to in WORKING_STATUSES:
        waiting = _open_dependencies(task)
        if waiting:
            names = ", ".join(f"{t.key} ({status_label(t.status).lower()})" for t in waiting)
            verb = "be done" if to == S.DONE else "start"
            raise RuleViolation(
                f"{task.key} cannot {verb}: it is blocked by {names}. "
                "Finish those first, or remove the dependency.",
                param="to",
                code="blocked_by_dependencies",
                details={"blocked_by": [t.key for t in waiting]},
            )
    if to == S.DONE:
        _check_done(task)


def _check_done(task: Task) -> None:
    unchecked = list(
        AcceptanceItem.objects.filter(task=task, done=False).order_by("position", "id")
    )
    if unchecked:
        total = AcceptanceItem.objects.filter(task=task).count()
        listed = "; ".join(repr(item.text) for item in unchecked[:5])
        more = f" and {len(unchecked) - 5} more" if len(unchecked) > 5 else ""
        raise RuleViolation(
            f"{task.key} cannot be done: {len(unchecked)} of {total} acceptance items "
            f"are not checked: {listed}{more}. Check them first.",
            param="to",
            code="acceptance_incomplete",
            details={"unchecked": [item.text for item in unchecked]},
        )
    if task.requires_critical_review:
        reviewer = task.reviewer
        if reviewer is None:
            raise RuleViolation(
                f"{task.key} requires a critical review but has no reviewer: "
                "set one, and have them approve it.",
                param="to",
                code="review_required",
            )
        if task.approved_at is None or task.approved_by_id != reviewer.pk:
            raise RuleViolation(
                f"{task.key} requires a critical review: its reviewer {reviewer.name} "
                "must approve it before it is done.",
                param="to",
                code="review_required",
            )


def task_transition(*, task: Task, to: str, by: Actor, reason: str | None = None) -> Task:
    """Move ``task`` to status ``to`` if the rules allow it; returns the fresh task.

    The status is claimed atomically (``filter(pk, status=old).update``): two people
    moving the same card at once cannot both win, the second gets a Conflict.
    """
    to = _status(to)
    reason = (reason or "").strip()
    with transaction.atomic():
        current = Task.objects.select_related("reviewer").filter(pk=task.pk).first()
        if current is None:
            raise NotFound(f"Task {task.key} no longer exists.")
        transition_check(current, to, reason)
        old = current.status
        now = timezone.now()
        if to == old:
            if to == S.BLOCKED and reason and reason != current.blocked_reason:
                Task.objects.filter(pk=current.pk).update(blocked_reason=reason, updated_at=now)
                _event(current, by, "blocked_reason", current.blocked_reason, reason).save()
            return Task.objects.get(pk=current.pk)
        updates: dict[str, Any] = {"status": to, "status_changed_at": now, "updated_at": now}
        events = [_event(current, by, "status", old, to, reason if to == S.BLOCKED else "")]
        if to == S.BLOCKED:
            updates["blocked_reason"] = reason
            events.append(_event(current, by, "blocked_reason", current.blocked_reason, reason))
        elif current.blocked_reason:
            updates["blocked_reason"] = ""
            events.append(_event(current, by, "blocked_reason", current.blocked_reason, ""))
        if old == S.DONE and current.approved_at:
            # A reopened task is new work: its next "done" needs a new approval.
            updates.update(approved_by=None, approved_at=None)
            events.append(_event(current, by, "approval", "approved", "", "cleared on reopen"))
        claimed = Task.objects.filter(pk=current.pk, status=old).update(**updates)
        if claimed != 1:
            now_status = Task.objects.filter(pk=current.pk).values_list("status", flat=True)
            raise Conflict(
                f"{current.key} changed while you were moving it (it is now "
                f"{status_label(now_status.first() or '?')}); reload and try again.",
            )
        TaskEvent.objects.bulk_create(events)
    return Task.objects.get(pk=current.pk)


def task_approve(*, task: Task, by: Actor) -> Task:
    """The reviewer approves the critical review of ``task`` (needed before done)."""
    with transaction.atomic():
        current = Task.objects.select_related("reviewer").get(pk=task.pk)
        if not current.requires_critical_review:
            raise RuleViolation(
                f"{current.key} does not require a critical review; there is nothing to approve.",
                code="review_not_required",
            )
        reviewer = current.reviewer
        if reviewer is None:
            raise RuleViolation(
                f"{current.key} has no reviewer: set one before approving.",
                code="review_required",
            )
        acting = _acting_agent(by)
        if acting is None or acting.pk != reviewer.pk:
            who = f"you act for {acting.name}" if acting else "your user acts for no agent"
            raise RuleViolation(
                f"Only {reviewer.name}, the reviewer of {current.key}, can approve it; {who}. "
                f"Link your user to {reviewer.name} in the admin (Agents) if you review for it.",
                code="not_the_reviewer",
            )
        if current.status not in (S.IN_REVIEW, S.IN_PROGRESS):
            raise RuleViolation(
                f"{current.key} is {status_label(current.status).lower()}; "
                "approve it while it is in progress or in review.",
                code="invalid_state",
            )
        if current.approved_at and current.approved_by_id == reviewer.pk:
            return current
        now = timezone.now()
        claimed = Task.objects.filter(pk=current.pk, approved_at=current.approved_at).update(
            approved_by=reviewer, approved_at=now, updated_at=now
        )
        if claimed != 1:
            raise Conflict(f"{current.key} was approved meanwhile; reload.")
        _event(current, by, "approval", "", f"approved by {reviewer.name}").save()
    return Task.objects.get(pk=current.pk)


def _acting_agent(by: Actor) -> Agent | None:
    if isinstance(by, Agent):
        return by
    if isinstance(by, str) or by is None or not getattr(by, "is_authenticated", False):
        return None
    return Agent.objects.filter(user=by).first()

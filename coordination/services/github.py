"""The GitHub webhook: pull requests move their tasks, check suites are recorded on them.

``POST /api/coordination/github`` (see ``coordination/api.py``) verifies ``X-Hub-Signature-256``
with ``LUKHAS_GITHUB_WEBHOOK_SECRET`` and hands the delivery to ``webhook_handle``:

- a ``X-GitHub-Delivery`` id seen before changes nothing (``WebhookDelivery``);
- ``pull_request`` events link to tasks by a task key in the branch or the title
  (``feat/CC-1-dashboard``, ``[B] Circuit breaker``, ``Task #2: golden tokens``):
  opened / reopened / ready for review move the task to in review, a draft to in
  progress, closed + merged to done — through ``task_transition``, so the rules
  hold; a refused move is recorded on the task as an event instead;
- ``check_suite`` completions record their conclusion on the linked tasks.

Everything runs in one transaction with the delivery row: a crash leaves no
half-applied delivery, and GitHub's redelivery then processes it again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from coordination.models import Task, TaskStatus, WebhookDelivery
from coordination.services.common import task_record_event
from coordination.services.tasks import task_update
from coordination.services.transitions import task_transition
from lukhas_site.errors import AuthenticationFailed, InvalidRequest, LukhasError

SIGNATURE_HEADER = "X-Hub-Signature-256"


def verify_signature(*, secret: str, body: bytes, signature: str | None) -> None:
    """Raise AuthenticationFailed unless ``signature`` is ``sha256=HMAC(secret, body)``."""
    if not signature:
        raise AuthenticationFailed(
            f"The {SIGNATURE_HEADER} header is missing: set the webhook's secret in GitHub.",
            code="invalid_signature",
        )
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise AuthenticationFailed(
            f"The {SIGNATURE_HEADER} signature does not match the payload: the webhook's "
            "secret in GitHub differs from LUKHAS_GITHUB_WEBHOOK_SECRET.",
            code="invalid_signature",
        )


# --------------------------------------------------------------------------- task keys in text

# "Task B", "task-b", "tasks/#2": explicit, so even a one-letter key counts.
_EXPLICIT = re.compile(r"(?i)\btasks?[\s_/#-]*#?([A-Za-z0-9][A-Za-z0-9.]*(?:-[A-Za-z0-9.]+)*)")
# "[B]", "[CC-1]", "(#2)"
_BRACKETED = re.compile(r"[\[(]#?([A-Za-z0-9][A-Za-z0-9.-]*)[\])]")
# Keys with a letter, a dash and a digit stand out on their own: CC-1, E402-1, Safe-1.
_STANDALONE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9]*-\d[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)")


def _prefixes(token: str) -> list[str]:
    """'CC-1-shadow-diff' -> ['CC-1-shadow-diff', 'CC-1-shadow', 'CC-1', 'CC']."""
    parts = token.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


def task_keys_in(text: str, keys_by_lower: dict[str, str]) -> list[str]:
    """Task keys named in a branch or PR title, matched case-insensitively against ``keys``."""
    found: list[str] = []

    def take(token: str, *, explicit: bool) -> None:
        for candidate in _prefixes(token):
            for spelling in (candidate, f"#{candidate}"):
                key = keys_by_lower.get(spelling.lower())
                if key is None:
                    continue
                # A bare "a" or "1" inside a word means nothing; only explicit ones count.
                short = len(key.lstrip("#")) <= 2 and not any(c == "-" for c in key)
                if short and not explicit:
                    continue
                if key not in found:
                    found.append(key)
                return

    for match in _EXPLICIT.finditer(text):
        take(match.group(1), explicit=True)
    for match in _BRACKETED.finditer(text):
        take(match.group(1), explicit=True)
    for match in _STANDALONE.finditer(text):
        take(match.group(1), explicit=False)
    return found


# --------------------------------------------------------------------------- deliveries


@dataclass
class WebhookResult:
    status: str  # processed | duplicate | ignored
    event: str
    delivery: str
    tasks: list[str] = field(default_factory=list)  # refs: KEY, or PLAN:KEY for a plan's task
    outcome: str = ""
    task_ids: list[int] = field(default_factory=list)


def webhook_handle(*, event: str, delivery: str, payload: dict[str, Any]) -> WebhookResult:
    delivery = (delivery or "").strip()
    if not delivery:
        raise InvalidRequest("The X-GitHub-Delivery header is missing.", param="X-GitHub-Delivery")
    event = (event or "").strip() or "unknown"
    action = str(payload.get("action") or "")
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = WebhookDelivery.objects.create(
                    delivery_id=delivery[:100], event=event[:50], action=action[:50]
                )
        except IntegrityError:
            return WebhookResult("duplicate", event, delivery, outcome="seen before; ignored")
        handler = _HANDLERS.get(event)
        if handler is None:
            result = WebhookResult("ignored", event, delivery, outcome=f"{event} is not handled")
        else:
            result = handler(payload, WebhookResult("processed", event, delivery))
        row.outcome = result.outcome[:2000]
        row.save(update_fields=["outcome", "updated_at"])
        if result.tasks:
            row.tasks.set(Task.objects.filter(pk__in=result.task_ids))
    return result


def _actor(payload: dict[str, Any]) -> str:
    login = (payload.get("sender") or {}).get("login") or "unknown"
    return f"github:{login}"


def _keys() -> dict[str, str]:
    return {key.lower(): key for key in Task.objects.values_list("key", flat=True)}


def _tasks_named(keys: list[str] | set[str], text: str, notes: list[str]) -> list[Task]:
    """The tasks ``keys`` name. A key that several plans use counts only for the plans
    whose slug the text names too (``t4-handoff/#1``, ``[t4-handoff:#1]``); otherwise
    nothing is linked and ``notes`` says which plans to choose from."""
    lowered = text.lower()
    found: list[Task] = []
    by_key: dict[str, list[Task]] = {}
    for task in Task.objects.filter(key__in=keys).select_related("source_plan"):
        by_key.setdefault(task.key, []).append(task)
    for key in sorted(by_key):
        tasks = by_key[key]
        if len(tasks) > 1:
            named = [t for t in tasks if t.source_plan_id and t.source_plan.slug in lowered]
            if len(named) != 1:
                refs = ", ".join(sorted(t.ref for t in tasks))
                notes.append(f"{key} is a key of several plans ({refs}): name the plan; not linked")
                continue
            tasks = named
        found.extend(tasks)
    return found


def _ping(payload: dict[str, Any], result: WebhookResult) -> WebhookResult:
    result.outcome = f"pong ({payload.get('zen', '')})".strip()
    return result


def _pull_request(payload: dict[str, Any], result: WebhookResult) -> WebhookResult:
    pr = payload.get("pull_request") or {}
    action = str(payload.get("action") or "")
    number = pr.get("number")
    branch = str((pr.get("head") or {}).get("ref") or "")
    title = str(pr.get("title") or "")
    keys = task_keys_in(f"{branch}\n{title}", _keys())
    if not keys:
        result.status = "ignored"
        result.outcome = f"PR #{number} names no task key (branch {branch!r}, title {title!r})"
        return result
    by = _actor(payload)
    notes: list[str] = []
    for task in _tasks_named(keys, f"{branch}\n{title}", notes):
        links: dict[str, Any] = {}
        if pr.get("html_url") and task.pr_url != pr["html_url"]:
            links["pr_url"] = pr["html_url"]
        if number and task.pr_number != number:
            links["pr_number"] = number
        if branch and not task.branch:
            links["branch"] = branch
        if links:
            task = task_update(task=task, by=by, **links)
        notes.append(_apply_pr_action(task, action, pr, by))
        result.tasks.append(task.ref)
        result.task_ids.append(task.pk)
    if not result.tasks:
        result.status = "ignored"
    result.outcome = "; ".join(n for n in notes if n)
    return result


def _apply_pr_action(task: Task, action: str, pr: dict[str, Any], by: str) -> str:
    number = pr.get("number")
    draft = bool(pr.get("draft"))
    target = None
    if action in ("opened", "reopened", "ready_for_review") and not draft:
        target = TaskStatus.IN_REVIEW
    elif action in ("opened", "reopened") and draft and task.status == TaskStatus.TODO:
        target = TaskStatus.IN_PROGRESS
    elif action == "closed" and pr.get("merged"):
        target = TaskStatus.DONE
    elif action == "closed":
        task_record_event(
            task=task, by=by, field="github", message=f"PR #{number} closed without merging"
        )
        return f"{task.key}: PR #{number} closed without merging (recorded)"
    elif action == "converted_to_draft":
        task_record_event(
            task=task, by=by, field="github", message=f"PR #{number} went back to draft"
        )
        return f"{task.key}: PR #{number} back to draft (recorded)"
    if target is None or task.status == target:
        return f"{task.key}: PR #{number} {action} (no change)"
    try:
        task_transition(task=task, to=target, by=by)
    except LukhasError as exc:
        # The rules win over GitHub: the task stays, and its history says why.
        task_record_event(
            task=task,
            by=by,
            field="github",
            message=f"PR #{number} {action}{' (merged)' if pr.get('merged') else ''}, "
            f"but the task stays {task.get_status_display().lower()}: {exc.message}",
        )
        return f"{task.key}: refused: {exc.message}"
    return f"{task.key}: {task.status} -> {target}"


def _check_suite(payload: dict[str, Any], result: WebhookResult) -> WebhookResult:
    suite = payload.get("check_suite") or {}
    if payload.get("action") != "completed":
        result.status = "ignored"
        result.outcome = f"check_suite {payload.get('action')} (only completed is recorded)"
        return result
    conclusion = str(suite.get("conclusion") or "unknown")
    numbers = [p.get("number") for p in suite.get("pull_requests") or [] if p.get("number")]
    branches = [str(suite.get("head_branch") or "")]
    branches += [
        str((p.get("head") or {}).get("ref") or "") for p in suite.get("pull_requests") or []
    ]
    keys = set(task_keys_in("\n".join(branches), _keys()))
    ambiguous: list[str] = []
    named = {t.pk: t for t in _tasks_named(keys, "\n".join(branches), ambiguous)}
    linked = Task.objects.filter(pr_number__in=numbers).select_related("source_plan")
    named.update((t.pk, t) for t in linked)
    by = _actor(payload)
    sha = str(suite.get("head_sha") or "")[:7]
    for task in sorted(named.values(), key=lambda t: (t.key, t.ref)):
        if task.ci_conclusion != conclusion:
            task_update(task=task, by=by, ci_conclusion=conclusion)
        task_record_event(
            task=task,
            by=by,
            field="check_suite",
            message=f"check suite {conclusion}" + (f" on {sha}" if sha else ""),
            new=conclusion,
        )
        result.tasks.append(task.ref)
        result.task_ids.append(task.pk)
    if not result.tasks:
        result.status = "ignored"
        result.outcome = "; ".join([f"check suite {conclusion}: no linked task", *ambiguous])
    else:
        result.outcome = f"check suite {conclusion} recorded on {', '.join(result.tasks)}"
    return result


_HANDLERS = {"ping": _ping, "pull_request": _pull_request, "check_suite": _check_suite}

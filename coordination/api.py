"""The coordination ops API, under ``/api/coordination/``.

Authentication comes from the ``/api`` root (``guardian.auth.ops_auth``: a
bearer API key or a dashboard session); each operation then asks Guardian for
its scope: ``ops:read`` to read, ``ops:write`` to change, and for a session the
Django permission named with it (``coordination.view_task``,
``coordination.change_task``, ``coordination.add_task``). Writes go through
``coordination.services``, the same rules as the board and the admin.

The GitHub webhook has its own authentication (an HMAC signature) and no
session or key: ``auth=None`` on that operation.
"""

# No `from __future__ import annotations`: ninja reads these annotations at import time,
# through decorators (paginate) whose module does not know the names used here.

import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Field, File, Form, Path, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import PageNumberPagination, paginate

from coordination import exports, selectors, services
from coordination.access import CREATE, READ, WRITE, allow
from coordination.filters import TaskFilter
from coordination.models import Agent, Snapshot, Task
from coordination.schemas import (
    AcceptancePatchIn,
    AgentOut,
    DependencyIn,
    ImportJobOut,
    ImportOut,
    PlanOut,
    SnapshotOut,
    TaskIn,
    TaskOut,
    TaskPatchIn,
    TransitionIn,
    WebhookOut,
)
from coordination.services import github
from coordination.services.plan_import import (
    parse_upload,
    plan_import_data,
    plan_import_runs_as_job,
    plan_import_start,
    plan_size_check,
)
from lukhas_site.errors import InvalidRequest, NotFound, ServiceUnavailable

router = Router()

# Bounds of every integer the API reads from a query or a path. Unbounded, a huge
# ``page`` became an SQL OFFSET past 64 bits: a 500 (``datatype mismatch``) on SQLite.
MAX_PAGE = 100_000  # 500 rows a page: 50 million rows, far past any board
MAX_PAGE_SIZE = 500
MAX_ID = 2**63 - 1  # the database's integer


class BoundedPageNumberPagination(PageNumberPagination):
    """Ninja's page-number pagination with the page and its size bounded (422 past them)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE, description=f"1 to {MAX_PAGE:,}")
        page_size: int | None = Field(
            None, ge=1, le=MAX_PAGE_SIZE, description=f"1 to {MAX_PAGE_SIZE} (default 50)"
        )


def _actor(request: HttpRequest) -> Any:
    """Who signs the events: the session's user, or the API key by its public prefix."""
    principal = request.auth
    if principal.kind == "user":
        return principal.user
    return f"api-key:{principal.label}"


CLEARABLE = ("priority", "risk", "estimate_min_hours", "estimate_max_hours")


def _task(key: str) -> Task:
    return selectors.task_detail(key)


def _detail(task: Task) -> Task:
    """The task again after a write, by id: its key alone may name tasks of other plans."""
    return selectors.task_list().get(pk=task.pk)


def _agent(name: str | None) -> Agent | None:
    if not name:
        return None
    return services.agent_resolve(name).agent


def _blocker(key: str) -> Task:
    try:
        return selectors.task_get(key)
    except NotFound as exc:
        raise InvalidRequest(exc.message, param="blocker") from None


# --------------------------------------------------------------------------- tasks


@router.get(
    "/tasks",
    response=list[TaskOut],
    url_name="coordination-tasks",
    operation_id="coordination_tasks_list",
)
@paginate(BoundedPageNumberPagination, page_size=50, max_page_size=MAX_PAGE_SIZE)
def tasks_list(request: HttpRequest, filters: Query[TaskFilter]) -> Any:
    """Tasks, filtered like the board (owner, track, priority, risk, status, q, blocked)."""
    allow(request, READ)
    return selectors.task_list(filters)


@router.get(
    "/tasks/{key}",
    response=TaskOut,
    url_name="coordination-task",
    operation_id="coordination_task_get",
)
def task_get(request: HttpRequest, key: str) -> Task:
    """One task by key (encode '#' as %23: ``/tasks/%231``; ``/tasks/1`` finds '#1' too)."""
    allow(request, READ)
    return _task(key)


@router.post(
    "/tasks",
    response={201: TaskOut},
    url_name="coordination-task-create",
    operation_id="coordination_task_create",
)
def task_create(request: HttpRequest, payload: TaskIn) -> Status:
    """A new task; owner, reviewer and collaborators are agent names or aliases."""
    allow(request, CREATE)
    with transaction.atomic():  # a refused dependency leaves no task, agent or track behind
        task = _create(payload, by=_actor(request))
    return Status(201, _detail(task))


def _create(payload: TaskIn, *, by: Any) -> Task:
    track, _ = services.track_get_or_create(payload.track or "")
    owner = _agent(payload.owner)
    blockers = [_blocker(key) for key in payload.depends_on]
    plan = selectors.plan_get(payload.plan) if payload.plan else None
    task = services.task_create(
        by=by,
        key=payload.key,
        source_plan=plan,
        title=payload.title,
        status=payload.status,
        blocked_reason=payload.blocked_reason,
        track=track,
        owner=owner,
        reviewer=_agent(payload.reviewer),
        collaborators=[a for a in map(_agent, payload.collaborators) if a and a != owner],
        priority=payload.priority,
        risk=payload.risk,
        estimate_min_hours=payload.estimate_min_hours,
        estimate_max_hours=payload.estimate_max_hours,
        files=payload.files,
        branch=payload.branch,
        pr_url=payload.pr_url,
        requires_critical_review=payload.requires_critical_review,
        goal=payload.goal,
        notes=payload.notes,
    )
    for text in payload.acceptance:
        services.acceptance_item_add(task=task, text=text, by=by)
    for blocker in blockers:
        services.task_add_dependency(blocker=blocker, blocked=task, by=by)
    return task


@router.patch(
    "/tasks/{key}",
    response=TaskOut,
    url_name="coordination-task-update",
    operation_id="coordination_task_update",
)
def task_update(request: HttpRequest, key: str, payload: TaskPatchIn) -> Task:
    """Change the fields sent; a ``status`` goes through the rules (``reason`` to block)."""
    allow(request, WRITE)
    task = _task(key)
    data = payload.dict(exclude_unset=True)
    changes: dict[str, Any] = {}
    for name in ("owner", "reviewer"):
        if name in data:
            changes[name] = _agent(data.pop(name))
    if "track" in data:
        changes["track"], _ = services.track_get_or_create(data.pop("track") or "")
    if "collaborators" in data:
        changes["collaborators"] = [a for a in map(_agent, data.pop("collaborators") or []) if a]
    status, reason = data.pop("status", None), data.pop("reason", None)
    # null sent for these means "unknown" (it clears them); for the others, "no change".
    changes.update({k: v for k, v in data.items() if v is not None or k in CLEARABLE})
    # One request, one outcome: a refused status leaves the other fields unchanged too.
    with transaction.atomic():
        if changes:
            task = services.task_update(task=task, by=_actor(request), **changes)
        if status is not None:
            services.task_transition(task=task, to=status, by=_actor(request), reason=reason)
    return _detail(task)


@router.post(
    "/tasks/{key}/transition",
    response=TaskOut,
    url_name="coordination-task-transition",
    operation_id="coordination_task_transition",
)
def task_transition(request: HttpRequest, key: str, payload: TransitionIn) -> Task:
    """Move a task to another status, if the rules allow it (422 with the reason if not)."""
    allow(request, WRITE)
    services.task_transition(
        task=_task(key), to=payload.to, by=_actor(request), reason=payload.reason
    )
    return _task(key)


@router.post(
    "/tasks/{key}/approve",
    response=TaskOut,
    url_name="coordination-task-approve",
    operation_id="coordination_task_approve",
)
def task_approve(request: HttpRequest, key: str) -> Task:
    """The reviewer approves a critical review (a session user linked to the reviewer agent)."""
    allow(request, WRITE)
    services.task_approve(task=_task(key), by=_actor(request))
    return _task(key)


@router.post(
    "/tasks/{key}/dependencies",
    response={201: TaskOut},
    url_name="coordination-task-dependency-add",
    operation_id="coordination_task_dependency_add",
)
def dependency_add(request: HttpRequest, key: str, payload: DependencyIn) -> Status:
    """``key`` waits for ``blocker``; a dependency that closes a cycle is refused, named."""
    allow(request, WRITE)
    services.task_add_dependency(
        blocker=_blocker(payload.blocker), blocked=_task(key), by=_actor(request)
    )
    return Status(201, _task(key))


@router.delete(
    "/tasks/{key}/dependencies/{blocker}",
    response=TaskOut,
    url_name="coordination-task-dependency-remove",
    operation_id="coordination_task_dependency_remove",
)
def dependency_remove(request: HttpRequest, key: str, blocker: str) -> Task:
    allow(request, WRITE)
    task = _task(key)
    if not services.task_remove_dependency(
        blocker=_blocker(blocker), blocked=task, by=_actor(request)
    ):
        raise NotFound(f"{task.key} does not depend on {blocker}.", param="blocker")
    return _task(key)


@router.patch(
    "/tasks/{key}/acceptance/{item_id}",
    response=TaskOut,
    url_name="coordination-task-acceptance",
    operation_id="coordination_task_acceptance_set",
)
def acceptance_set(
    request: HttpRequest,
    key: str,
    payload: AcceptancePatchIn,
    item_id: int = Path(..., ge=1, le=MAX_ID),
) -> Task:
    """Check or uncheck one acceptance criterion."""
    allow(request, WRITE)
    task = _task(key)
    item = task.acceptance_items.filter(pk=item_id).first()
    if item is None:
        raise NotFound(f"{task.key} has no acceptance item {item_id}.", param="item_id")
    services.acceptance_item_set(item=item, done=payload.done, by=_actor(request))
    return _task(key)


@router.get(
    "/agents",
    response=list[AgentOut],
    url_name="coordination-agents",
    operation_id="coordination_agents_list",
)
def agents_list(request: HttpRequest) -> Any:
    allow(request, READ)
    return Agent.objects.prefetch_related("aliases").order_by("name")


# --------------------------------------------------------------------------- plans


@router.get(
    "/plans",
    response=list[PlanOut],
    url_name="coordination-plans",
    operation_id="coordination_plans_list",
)
def plans_list(request: HttpRequest) -> Any:
    """Imported plans (each its own key space) with their gates."""
    allow(request, READ)
    return list(selectors.plan_list())


@router.get(
    "/plans/{slug}",
    response=PlanOut,
    url_name="coordination-plan",
    operation_id="coordination_plan_get",
)
def plan_get(request: HttpRequest, slug: str) -> Any:
    """One plan by slug, with its gates (``gates_done``: every gate line checked)."""
    allow(request, READ)
    plan = selectors.plan_get(slug)
    return selectors.plan_list().get(pk=plan.pk)


# --------------------------------------------------------------------------- import


@router.post(
    "/imports",
    response={200: ImportOut, 202: ImportJobOut},
    url_name="coordination-import",
    operation_id="coordination_plan_import",
)
def plan_upload(
    request: HttpRequest,
    file: File[UploadedFile],
    dry_run: Form[bool] = False,
    prefer_plan: Form[bool] = False,
    plan: Form[str] = "",
) -> Status:
    """Import a markdown plan (multipart ``file``); ``dry_run`` reports without writing.

    ``plan`` names the plan (key space) by slug (default: from the file name). A field
    changed on the board and in the plan since the last import is a conflict in the
    report; the board's value stays unless ``prefer_plan``.

    A plan with an error is refused with its line (400 ``plan_invalid``) and writes nothing.
    Up to ``LUKHAS_PLAN_IMPORT_JOB_BYTES`` (and every dry run) the import runs in the
    request (200, the report); a larger plan is stored and a ``plan-import`` job imports
    it (202, the job's id and URLs; its result holds the counts and warnings).
    """
    allow(request, CREATE)
    plan_size_check(file.size)  # before reading: the upload handler spooled it to disk
    limit = settings.COORDINATION_UPLOAD_MAX_BYTES
    data, name = file.read(limit + 1), file.name or "plan.md"
    plan_size_check(len(data))
    if not plan_import_runs_as_job(len(data), dry_run=dry_run):
        report = plan_import_data(
            data=data,
            source_name=name,
            by=_actor(request),
            dry_run=dry_run,
            plan_slug=plan,
            prefer_plan=prefer_plan,
        )
        return Status(200, report.to_dict())
    parsed = parse_upload(data, source_name=name)
    job = plan_import_start(
        data=data,
        source_name=name,
        by=_actor(request),
        plan=parsed,
        plan_slug=plan,
        prefer_plan=prefer_plan,
    )
    base = settings.JOBS_BASE_URL.rstrip("/")
    return Status(
        202,
        {
            "job_id": job.pk,
            "kind": job.kind,
            "status": job.status,
            "url": f"{base}/jobs/{job.pk}/",
            "progress_url": f"{base}/jobs/{job.pk}/progress",
            "source_name": job.params["source_name"],
            "bytes": len(data),
            "tasks": len(parsed.tasks),
        },
    )


# --------------------------------------------------------------------------- exports, snapshots


@router.get(
    "/exports/{name}",
    url_name="coordination-export",
    operation_id="coordination_export",
    response={200: None},
)
def export_file(request: HttpRequest, name: str) -> HttpResponse:
    """``task_status.json`` (schema ``docs/schemas/task_status.v1.json``),
    ``COORDINATION_DASHBOARD.md`` or ``daily_report.md``, of the board now."""
    allow(request, READ)
    if name not in exports.EXPORT_NAMES:
        raise NotFound(
            f"No export called {name!r}; there are: {', '.join(exports.EXPORT_NAMES)}.",
            param="name",
        )
    response = HttpResponse(
        exports.export_bundle().files[name], content_type=exports.CONTENT_TYPES[name]
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get(
    "/snapshots",
    response=list[SnapshotOut],
    url_name="coordination-snapshots",
    operation_id="coordination_snapshots_list",
)
@paginate(BoundedPageNumberPagination, page_size=50, max_page_size=MAX_PAGE_SIZE)
def snapshots_list(request: HttpRequest) -> Any:
    """Snapshots, newest first (three a day by default, plus any taken by hand)."""
    allow(request, READ)
    return Snapshot.objects.order_by("-taken_at", "-id")


@router.post(
    "/snapshots",
    response={201: SnapshotOut},
    url_name="coordination-snapshot-take",
    operation_id="coordination_snapshot_take",
)
def snapshot_take(request: HttpRequest) -> Status:
    """Take a snapshot now (the scheduled ones come from beat)."""
    allow(request, WRITE)
    snapshot, _ = services.snapshot_take()
    return Status(201, snapshot)


# --------------------------------------------------------------------------- GitHub


@router.post(
    "/github",
    auth=None,
    response={200: WebhookOut, 202: WebhookOut},
    url_name="coordination-github-webhook",
    operation_id="coordination_github_webhook",
)
def github_webhook(request: HttpRequest) -> Status:
    """GitHub webhook (``pull_request``, ``check_suite``, ``ping``), signed with
    ``X-Hub-Signature-256``; no session or key. 401 on a bad signature, 503 while
    ``LUKHAS_GITHUB_WEBHOOK_SECRET`` is unset, 200 ``duplicate`` on a redelivery."""
    secret = settings.COORDINATION_GITHUB_WEBHOOK_SECRET
    if not secret:
        raise ServiceUnavailable(
            "The GitHub webhook is not configured: set LUKHAS_GITHUB_WEBHOOK_SECRET "
            "(and the same secret in the repository's webhook settings).",
            code="webhook_not_configured",
        )
    body = request.body
    github.verify_signature(
        secret=secret, body=body, signature=request.headers.get(github.SIGNATURE_HEADER)
    )
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        raise InvalidRequest("The payload is not JSON (content type application/json).") from None
    if not isinstance(payload, dict):
        raise InvalidRequest("The payload is not a JSON object.")
    result = github.webhook_handle(
        event=request.headers.get("X-GitHub-Event", ""),
        delivery=request.headers.get("X-GitHub-Delivery", ""),
        payload=payload,
    )
    return Status(200 if result.status == "processed" else 202, result.__dict__)

"""Import a markdown plan into tasks: the service behind ``import_plan``, the board's
upload form, ``POST /api/coordination/imports`` and the demo data.

- The parser (``plan_parser``) reads the plan; what it cannot read stops the
  import with the line to fix (``PlanImportError``), before anything is written.
- Owners, collaborators and reviewers are mapped to agents through aliases
  (``agent_resolve``): ``Codex``, ``CODEX``, ``@codex`` and ``ChatGPT
  Codex`` are one agent; an unknown name becomes a new agent, reported.
- Tasks are matched by key, so importing a plan again updates what changed and
  reports each task as created, updated (with the fields) or unchanged.
- What the plan leaves empty (no owner, no priority) never erases what the board
  knows; ticked acceptance items stay ticked; a status the plan states is applied
  through ``task_transition``, so the rules hold (a refusal becomes a warning).
- One transaction: an error anywhere writes nothing. ``dry_run`` runs the very
  same code and rolls it back, so it reports exactly what a real import would do.
  A database error (a value too long for PostgreSQL, a lost connection) becomes
  ``PlanStoreError`` naming the task and line it stopped at, never a traceback.
- Keys and ids go to the database in chunks of ``IN_CHUNK``: one ``IN (...)``
  over a 30,000-task plan passed SQLite's limit of bound variables.
- A plan larger than ``COORDINATION_PLAN_IMPORT_JOB_BYTES`` (not a dry run) is
  stored as a ``PlanUpload`` and imported by the ``plan-import`` job
  (``plan_import_start``, then ``coordination/flows.py``): same code, in a worker,
  with a progress bar the upload form, the API and ``import_plan --wait`` show.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils.text import slugify

from coordination.models import (
    TRANSITIONS,
    AcceptanceItem,
    Agent,
    Plan,
    PlanGate,
    PlanUpload,
    Task,
    TaskDependency,
    TaskStatus,
    plan_slug_for,
    qualified_key,
)
from coordination.plan_parser import (
    ParsedPlan,
    ParsedTask,
    PlanNote,
    PlanParseError,
    normalize_agent_name,
    parse_plan,
    parse_plan_bytes,
    plan_to_dict,
)
from coordination.services.agents import AgentResolution, agent_resolve, track_get_or_create
from coordination.services.common import Actor
from coordination.services.dependencies import (
    DependencyGraph,
    task_add_dependency,
    task_remove_dependency,
)
from coordination.services.tasks import (
    acceptance_item_add,
    acceptance_item_set,
    task_create,
    task_update,
)
from coordination.services.transitions import task_transition
from jobs import services as jobs
from jobs.models import Job
from lukhas_site.errors import InvalidRequest, LukhasError, NotFound, Unprocessable

# progress(done, total, message): how far the import is, and at which task.
Progress = Callable[[int, int, str], None]

PLAN_IMPORT_FLOW = "plan-import"

SCHEMA_VERSION = 1
# At most this many values in one ``IN (...)``: below SQLite's oldest limit (999
# bound variables) and PostgreSQL's (65,535), whatever the size of the plan.
IN_CHUNK = 500


class PlanImportError(InvalidRequest):
    """The plan cannot be imported; ``line`` (1-based) points at what to fix."""

    code = "plan_invalid"

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}", param="file", details={"line": line})
        self.line = line
        self.reason = message


class PlanStoreError(Unprocessable):
    """The database refused what the plan asks for; nothing of the import was written."""

    code = "plan_not_stored"

    def __init__(self, line: int, key: str, error: DatabaseError) -> None:
        where = f"line {line} (task {key})" if key else f"line {line}"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        super().__init__(
            f"{where}: the database refused the import ({first}); nothing was imported.",
            param="file",
            details={"line": line, "key": key},
        )
        self.line = line


class PlanTooLarge(InvalidRequest):
    """A plan over ``LUKHAS_COORD_UPLOAD_MAX_BYTES``: refused before it is parsed, on
    every entry point (form, API, CLI) with the same message."""

    code = "plan_too_large"

    def __init__(self, size: int | None, limit: int, *, hint: str = "") -> None:
        what = f"The plan is {size:,} bytes" if size is not None else "The plan is larger"
        super().__init__(
            f"{what}; the limit is {limit:,} (LUKHAS_COORD_UPLOAD_MAX_BYTES){hint}. "
            "Nothing was imported.",
            param="file",
            details={"size": size, "limit": limit},
        )


def plan_size_check(size: int | None, *, limit: int | None = None, hint: str = "") -> None:
    """Refuse a plan of ``size`` bytes over the limit (the setting unless given)."""
    limit = settings.COORDINATION_UPLOAD_MAX_BYTES if limit is None else limit
    if size is not None and size > limit:
        raise PlanTooLarge(size, limit, hint=hint)


def _chunks(values: Sequence[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


@dataclass
class TaskChange:
    key: str
    action: str  # created | updated | unchanged
    title: str
    line: int
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [old, new]
    # field -> {"plan": what the plan says, "board": the live value kept, "imported": the
    # plan's value at the last import (null: never imported with a base)}
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ImportReport:
    source_name: str
    checksum: str
    title: str
    dry_run: bool
    repaired_mojibake: bool = False
    tasks: list[TaskChange] = field(default_factory=list)
    agents_created: list[dict[str, str]] = field(default_factory=list)
    tracks_created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # What the parser inferred rather than read (an owner from a heading, done from a
    # ✅, a dependency from prose): listed so a person can check each one.
    inferences: list[str] = field(default_factory=list)
    plan_id: int | None = None
    plan_slug: str = ""
    prefer_plan: bool = False
    # The plan's gates as imported, and what the import changed in them.
    gates: list[dict[str, Any]] = field(default_factory=list)
    gates_changed: list[str] = field(default_factory=list)
    parsed: ParsedPlan | None = None

    def keys(self, action: str) -> list[str]:
        return [t.key for t in self.tasks if t.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "tasks": len(self.tasks),
            "created": len(self.keys("created")),
            "updated": len(self.keys("updated")),
            "unchanged": len(self.keys("unchanged")),
            "agents_created": len(self.agents_created),
            "tracks_created": len(self.tracks_created),
            "warnings": len(self.warnings),
            "inferences": len(self.inferences),
            "conflicts": sum(1 for t in self.tasks if t.conflicts),
        }

    def conflicts(self) -> list[dict[str, Any]]:
        """Every field both the plan and the board changed since the last import."""
        return [
            {"key": t.key, "line": t.line, "field": name, **values}
            for t in self.tasks
            for name, values in t.conflicts.items()
        ]

    def summary(self) -> str:
        c = self.counts
        verb = "would import" if self.dry_run else "imported"
        conflicts = ""
        if c["conflicts"]:
            kept = "the plan's value taken" if self.prefer_plan else "the board's value kept"
            conflicts = f", {c['conflicts']} tasks with conflicts ({kept})"
        return (
            f"{self.source_name}: {verb} {c['tasks']} tasks "
            f"({c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged), "
            f"{c['agents_created']} new agents, {c['warnings']} warnings, "
            f"{c['inferences']} inferences{conflicts}, into plan {self.plan_slug}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The summary ``import_plan --format json`` prints and the API returns."""
        return {
            "schema_version": SCHEMA_VERSION,
            "source_name": self.source_name,
            "checksum": self.checksum,
            "title": self.title,
            "dry_run": self.dry_run,
            "repaired_mojibake": self.repaired_mojibake,
            "plan_id": self.plan_id,
            "plan": self.plan_slug,
            "counts": self.counts,
            "created": self.keys("created"),
            "updated": self.keys("updated"),
            "unchanged": self.keys("unchanged"),
            "agents_created": self.agents_created,
            "tracks_created": self.tracks_created,
            "warnings": self.warnings,
            "inferences": self.inferences,
            "prefer_plan": self.prefer_plan,
            "conflicts": self.conflicts(),
            "gates": self.gates,
            "gates_changed": self.gates_changed,
            "changes": [asdict(t) for t in self.tasks if t.action != "unchanged"],
            "tasks": plan_to_dict(self.parsed)["tasks"] if self.parsed else [],
        }


class _Rollback(Exception):
    """Raised inside the dry run's transaction so nothing it wrote stays."""


def parse_upload(data: bytes | str, *, source_name: str) -> ParsedPlan:
    """Parse an uploaded plan; a PlanParseError becomes a PlanImportError with its line."""
    try:
        if isinstance(data, bytes):
            return parse_plan_bytes(data, source_name=source_name)
        return parse_plan(data, source_name=source_name)
    except PlanParseError as exc:
        raise PlanImportError(exc.line, exc.message) from None


def plan_import_data(
    *,
    data: bytes | str,
    source_name: str,
    by: Actor,
    dry_run: bool = False,
    progress: Progress | None = None,
    plan_slug: str = "",
    prefer_plan: bool = False,
) -> ImportReport:
    """Parse and import a plan's bytes or text (the CLI, the form and the API call this)."""
    plan = parse_upload(data, source_name=source_name)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return plan_import(
        plan=plan,
        by=by,
        dry_run=dry_run,
        content=text,
        progress=progress,
        plan_slug=plan_slug,
        prefer_plan=prefer_plan,
    )


def plan_slug_normalize(slug: str) -> str:
    """A plan slug as given by a caller (``--plan``, the API): slugified, or refused."""
    value = slugify(slug or "")[:100].strip("-")
    if not value:
        raise InvalidRequest(
            f"{slug!r} is not a plan name; use letters, digits and -.", param="plan"
        )
    return value


def plan_import(
    *,
    plan: ParsedPlan,
    by: Actor,
    dry_run: bool = False,
    content: str = "",
    progress: Progress | None = None,
    plan_slug: str = "",
    prefer_plan: bool = False,
) -> ImportReport:
    """Import a parsed plan in one transaction (rolled back when ``dry_run``).

    Re-import is a three-way merge against what the plan said last time
    (``Task.imported_fields``): a field changed on the board since is kept and
    reported as a conflict, unless ``prefer_plan``.

    The tasks go into the plan ``plan_slug`` (default: from the source name), their
    own key space: a key is matched only among that plan's tasks.
    """
    source_name = plan.source_name or "plan.md"
    report = ImportReport(
        source_name=source_name,
        plan_slug=plan_slug_normalize(plan_slug) if plan_slug else plan_slug_for(source_name),
        checksum=plan.checksum,
        title=plan.title,
        dry_run=dry_run,
        repaired_mojibake=plan.repaired_mojibake,
        warnings=list(plan.warnings),
        inferences=[str(note) for note in plan.inferences],
        prefer_plan=prefer_plan,
        parsed=plan,
    )
    importer = _Importer(plan, report, by=by, content=content, progress=progress)
    try:
        with transaction.atomic():
            importer.run()
            if dry_run:
                raise _Rollback
    except _Rollback:
        report.plan_id = None
    except DatabaseError as exc:
        raise PlanStoreError(importer.line, importer.key, exc) from exc
    return report


# --------------------------------------------------------------------------- as a job


def plan_import_runs_as_job(size: int, *, dry_run: bool = False) -> bool:
    """Whether an upload of ``size`` bytes imports as a job (dry runs never do)."""
    return not dry_run and size > settings.COORDINATION_PLAN_IMPORT_JOB_BYTES


def plan_import_start(
    *,
    data: bytes,
    source_name: str,
    by: Actor,
    plan: ParsedPlan | None = None,
    queue: str = "",
    plan_slug: str = "",
    prefer_plan: bool = False,
) -> Job:
    """Store the upload and start the ``plan-import`` job that imports it.

    The plan is parsed here first (unless the caller already did: ``plan``), so
    a plan with an error is refused at once with its line and nothing is stored.
    """
    if plan is None:
        plan = parse_upload(data, source_name=source_name)
    user = by if getattr(by, "is_authenticated", False) else None
    label = "" if user is not None else str(by or "system")[:100]
    with transaction.atomic():
        upload = PlanUpload.objects.create(
            source_name=(source_name or "plan.md")[:255],
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            data=data,
            uploaded_by=user,
            uploaded_by_label=label,
        )
        return jobs.job_start(
            kind=PLAN_IMPORT_FLOW,
            params={
                "upload": upload.pk,
                "source_name": upload.source_name,
                "bytes": upload.size,
                "tasks": len(plan.tasks),
                "plan": plan_slug_normalize(plan_slug) if plan_slug else "",
                "prefer_plan": prefer_plan,
            },
            target=upload,
            by=user or label,
            queue=queue,
        )


def _upload(upload_id: int) -> PlanUpload:
    upload = PlanUpload.objects.filter(pk=upload_id).select_related("uploaded_by").first()
    if upload is None:
        raise NotFound(f"No stored plan upload {upload_id}", param="upload")
    return upload


def _upload_actor(upload: PlanUpload) -> Actor:
    if upload.uploaded_by_id is not None:
        return upload.uploaded_by
    return upload.uploaded_by_label or "system"


def plan_upload_parse(*, upload_id: int) -> ParsedPlan:
    """The stored upload, parsed (the job's first step: a bad plan fails with its line)."""
    upload = _upload(upload_id)
    return parse_upload(bytes(upload.data), source_name=upload.source_name)


def plan_upload_import(
    *,
    upload_id: int,
    progress: Progress | None = None,
    plan_slug: str = "",
    prefer_plan: bool = False,
) -> ImportReport:
    """Import a stored upload: one transaction, so running it again redoes it, never twice."""
    upload = _upload(upload_id)
    return plan_import_data(
        data=bytes(upload.data),
        source_name=upload.source_name,
        by=_upload_actor(upload),
        progress=progress,
        plan_slug=plan_slug,
        prefer_plan=prefer_plan,
    )


def import_job_summary(report: ImportReport, *, warnings_limit: int = 100) -> dict[str, Any]:
    """What the job records as the import's result: counts and warnings, not every task."""
    return {
        "summary": report.summary(),
        "plan_id": report.plan_id,
        "title": report.title,
        "checksum": report.checksum,
        "counts": report.counts,
        "agents_created": [a["name"] for a in report.agents_created],
        "tracks_created": report.tracks_created,
        "warnings": report.warnings[:warnings_limit],
        "warnings_dropped": max(0, len(report.warnings) - warnings_limit),
        "plan": report.plan_slug,
        "conflicts": report.conflicts()[:warnings_limit],
        "inferences": report.inferences[:warnings_limit],
        "inferences_dropped": max(0, len(report.inferences) - warnings_limit),
    }


class _Importer:
    def __init__(
        self,
        plan: ParsedPlan,
        report: ImportReport,
        *,
        by: Actor,
        content: str,
        progress: Progress | None,
    ) -> None:
        self.plan = plan
        self.report = report
        self.by = by
        self.content = content
        self.progress = progress
        self.agents: dict[str, AgentResolution] = {}
        self.tracks: dict[str, Any] = {}
        self.tasks: dict[str, Task] = {}
        # key -> the status the plan stated at the last import (_NO_BASE: no record)
        self.status_base: dict[str, Any] = {}
        # Where the import is, for the message of a database error.
        self.line, self.key = 1, ""

    def _at(self, parsed: ParsedTask) -> None:
        self.line, self.key = parsed.source_line or 1, parsed.key

    # ----------------------------------------------------------------- steps

    def run(self) -> None:
        plan_row = self._plan_row()
        self.plan_row = plan_row
        self.report.plan_id = plan_row.pk
        self.report.plan_slug = plan_row.slug
        for position, name in enumerate(self.plan.tracks):
            self._track(name, position)
        existing: dict[str, Task] = {}
        if plan_row.pk is not None:  # a plan seen before: its own tasks, never another plan's
            for keys in _chunks([p.key for p in self.plan.tasks]):
                rows = (
                    Task.objects.filter(source_plan=plan_row, key__in=keys)
                    .select_related("owner", "reviewer", "track")
                    .prefetch_related("collaborators", "acceptance_items")
                )
                for task in rows:
                    # Not select_related: that copies the plan's text into every task
                    # (2,000 tasks of a 100 kB plan: 190 MiB). They all share this row.
                    task.source_plan = plan_row
                    existing[task.key] = task
        plan_row.save()
        self.report.plan_id = plan_row.pk
        total = len(self.plan.tasks) * 2
        for index, parsed in enumerate(self.plan.tasks, start=1):
            self._at(parsed)
            task = existing.get(parsed.key)
            if task is None:
                self.tasks[parsed.key] = self._create(parsed, plan_row)
            else:
                self.tasks[parsed.key] = self._update(task, parsed, plan_row)
            self._tick(index, total)
        self._dependencies(total)
        self._statuses()
        self._gates(plan_row)
        plan_row.task_count = Task.objects.filter(source_plan=plan_row).count()
        plan_row.counts = {k: v for k, v in self.report.counts.items() if k != "tasks"}
        plan_row.warnings = self.report.warnings
        plan_row.save()

    def _gates(self, plan_row: Plan) -> None:
        """The plan's gates as rows: matched by (section, text), so importing again
        changes nothing; a line the plan ticks or unticks follows it, one it drops goes."""
        existing = {(g.section, g.text): g for g in PlanGate.objects.filter(plan=plan_row)}
        keep: set[int] = set()
        order = 0
        for gate in self.plan.gates:
            for item in gate.items:
                order += 1
                key = (gate.title[:300], item.text)
                row = existing.get(key)
                if row is None:
                    row = PlanGate.objects.create(
                        plan=plan_row,
                        section=key[0],
                        text=item.text,
                        done=item.checked,
                        line=item.line or None,
                        order=order,
                    )
                    self.report.gates_changed.append(f"added: {_gate_label(row)}")
                elif (row.done, row.line, row.order) != (item.checked, item.line or None, order):
                    if row.done != item.checked:
                        self.report.gates_changed.append(
                            f"{'ticked' if item.checked else 'unticked'}: {_gate_label(row)}"
                        )
                    row.done, row.line, row.order = item.checked, item.line or None, order
                    row.save(update_fields=["done", "line", "order", "updated_at"])
                keep.add(row.pk)
        gone = [g for g in existing.values() if g.pk not in keep]
        for row in gone:
            self.report.gates_changed.append(f"removed: {_gate_label(row)}")
        PlanGate.objects.filter(pk__in=[g.pk for g in gone]).delete()
        self.report.gates = [
            {"section": g.title, "text": i.text, "done": i.checked, "line": i.line}
            for g in self.plan.gates
            for i in g.items
        ]

    def _tick(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total, f"task {self.key}")

    def _plan_row(self) -> Plan:
        """The plan (key space) this document imports into, found by slug; unsaved if new.

        A revised document of a plan updates the row: its checksum, text and title
        are the latest document's.
        """
        slug = self.report.plan_slug
        row = Plan.objects.filter(slug=slug).first()
        if row is None:
            row = Plan(slug=slug, import_count=0)
        row.source_name = self.report.source_name[:255]
        row.checksum = self.plan.checksum
        row.title = self.plan.title[:300]
        row.repaired_mojibake = self.plan.repaired_mojibake
        row.content = self.content
        row.import_count += 1
        row.imported_by = self._user() or row.imported_by
        return row

    def _user(self) -> Any:
        return self.by if getattr(self.by, "is_authenticated", False) else None

    def _track(self, name: str, position: int = 0) -> Any:
        if not name:
            return None
        if name not in self.tracks:
            track, created = track_get_or_create(name, position=position)
            if created:
                self.report.tracks_created.append(track.name)
            self.tracks[name] = track
        return self.tracks[name]

    def _agent(self, name: str) -> Agent | None:
        if not name:
            return None
        key = normalize_agent_name(name)
        if key not in self.agents:
            resolution = agent_resolve(name)
            if resolution.created and resolution.agent is not None:
                self.report.agents_created.append(
                    {
                        "name": resolution.agent.name,
                        "written": name,
                        "kind": resolution.agent.kind,
                    }
                )
            self.agents[key] = resolution
        return self.agents[key].agent

    def _desired(self, parsed: ParsedTask, plan_row: Plan) -> dict[str, Any]:
        """What the plan says, as task fields; keys the plan leaves empty are left out."""
        fields: dict[str, Any] = {
            "title": parsed.title[:300],
            "source_plan": plan_row,
            "source_line": parsed.source_line or None,
        }
        optional = {
            "track": self._track(parsed.track),
            "owner": self._agent(parsed.owner),
            "reviewer": self._agent(parsed.reviewer),
            "priority": parsed.priority,
            "risk": parsed.risk,
            "estimate_min_hours": parsed.estimate_min_hours,
            "estimate_max_hours": parsed.estimate_max_hours,
            "files": list(parsed.files),
            "branch": parsed.branch[:255],
            "goal": parsed.goal,
            "notes": parsed.notes,
        }
        fields.update({k: v for k, v in optional.items() if v not in (None, "", [])})
        if parsed.requires_critical_review:
            fields["requires_critical_review"] = True
        return fields

    def _collaborators(self, parsed: ParsedTask, owner: Agent | None) -> list[Agent]:
        found: list[Agent] = []
        for name in parsed.collaborators:
            agent = self._agent(name)
            if agent is not None and agent != owner and agent not in found:
                found.append(agent)
        return found

    # ----------------------------------------------------------------- create / update

    def _create(self, parsed: ParsedTask, plan_row: Plan) -> Task:
        fields = self._desired(parsed, plan_row)
        collaborators = self._collaborators(parsed, fields.get("owner"))
        status = parsed.status or TaskStatus.TODO
        base = _base(fields, collaborators if parsed.collaborators else None)
        base["status"] = status
        if status == TaskStatus.BLOCKED:
            fields["blocked_reason"] = f"blocked in {self.report.source_name}"
        title = fields.pop("title")
        task = task_create(
            by=self.by,
            key=parsed.key,
            title=title,
            status=status,
            collaborators=collaborators,
            imported_fields=base,
            **fields,
        )
        AcceptanceItem.objects.bulk_create(
            AcceptanceItem(task=task, text=item.text, done=item.done, position=position)
            for position, item in enumerate(parsed.acceptance, start=1)
        )
        changes: dict[str, list[Any]] = {"title": [None, title]}
        changes.update(
            (name, [None, _plain_value(value)])
            for name, value in fields.items()
            if name not in ("source_plan", "source_line")
        )
        if status != TaskStatus.TODO:
            changes["status"] = [None, status]
        if collaborators:
            changes["collaborators"] = [None, [a.name for a in collaborators]]
        if parsed.acceptance:
            changes["acceptance"] = [None, [_check(i.text, i.done) for i in parsed.acceptance]]
        self.report.tasks.append(
            TaskChange(parsed.key, "created", title, parsed.source_line, changes)
        )
        return task

    def _update(self, task: Task, parsed: ParsedTask, plan_row: Plan) -> Task:
        """The three-way merge of one task: the plan now, the board now, the plan then.

        Per field: the plan changed it and the board did not -> the plan's value; the
        board changed it and the plan did not -> the board's; both (or no record of
        the last import) -> a conflict: the board's value stays unless ``prefer_plan``.
        """
        desired = self._desired(parsed, plan_row)
        base: dict[str, Any] = dict(task.imported_fields or {})
        changes: dict[str, Any] = {}
        report: dict[str, list[Any]] = {}
        conflicts: dict[str, dict[str, Any]] = {}
        collaborators = self._collaborators(parsed, desired.get("owner", task.owner))
        wanted = dict(desired)
        if parsed.collaborators:
            wanted["collaborators"] = collaborators
        new_base = dict(base)
        for name, new in wanted.items():
            if name in ("source_plan", "source_line"):
                if getattr(task, name) != new:
                    changes[name] = new
                continue
            plan_value = _plain_value(new)
            live = _live_value(task, name)
            new_base[name] = plan_value
            if live == plan_value:
                continue
            if name in base and live == base[name]:  # only the plan changed it
                take = True
            elif name in base and plan_value == base[name]:  # only the board changed it
                take = False
            else:  # both changed it, or the last import left no record
                conflicts[name] = {
                    "plan": plan_value,
                    "board": live,
                    "imported": base.get(name),
                }
                take = self.report.prefer_plan
            if take:
                changes[name] = new
                report[name] = [live, plan_value]
        if changes:
            task = task_update(task=task, by=self.by, **changes)
        accept_change = self._acceptance(task, parsed)
        if accept_change:
            report["acceptance"] = accept_change
        # The status is merged later (_statuses, after the dependencies it may need).
        self.status_base[parsed.key] = base.get("status", _NO_BASE)
        new_base["status"] = parsed.status or TaskStatus.TODO
        self._remember(task, new_base)
        action = "updated" if report else "unchanged"
        self.report.tasks.append(
            TaskChange(parsed.key, action, desired["title"], parsed.source_line, report, conflicts)
        )
        return task

    def _remember(self, task: Task, base: dict[str, Any]) -> None:
        """Store the plan's values as the next merge's base: bookkeeping, not a change of
        the task (no event, ``updated_at`` untouched), written only when it differs."""
        if base != (task.imported_fields or {}):
            Task.objects.filter(pk=task.pk).update(imported_fields=base)
            task.imported_fields = base

    def _acceptance(self, task: Task, parsed: ParsedTask) -> list[Any] | None:
        """Add criteria the plan gained, tick what it ticked; never untick or delete."""
        items = {item.text: item for item in task.acceptance_items.all()}
        before = [_check(i.text, i.done) for i in items.values()]
        changed = False
        for wanted in parsed.acceptance:
            item = items.get(wanted.text)
            if item is None:
                items[wanted.text] = acceptance_item_add(
                    task=task, text=wanted.text, by=self.by, done=wanted.done
                )
                changed = True
            elif wanted.done and not item.done:
                acceptance_item_set(item=item, done=True, by=self.by)
                changed = True
        if not changed:
            return None
        return [before, [_check(i.text, i.done) for i in items.values()]]

    # ----------------------------------------------------------------- dependencies, status

    def _dependencies(self, total: int) -> None:
        """Add the dependencies the plan states; drop plan-made ones it no longer states.

        A reference is a key of this plan, or ``PLAN:KEY`` for a task of another plan
        (resolved here, by slug, case-insensitively); one that names nothing is a
        warning with its line, never a silent drop.
        """
        graph = DependencyGraph()
        changes = {c.key: c for c in self.report.tasks}
        # blocked id -> {blocker id: from plan}; blocker id -> its name as seen from here
        current: dict[int, dict[int, bool]] = {}
        names: dict[int, str] = {}
        for ids in _chunks([t.pk for t in self.tasks.values()]):
            links = TaskDependency.objects.filter(blocked__in=ids).values_list(
                "blocked_id",
                "blocker_id",
                "blocker__key",
                "blocker__source_plan__slug",
                "from_plan",
            )
            for blocked_id, blocker_id, key, slug, from_plan in links:
                current.setdefault(blocked_id, {})[blocker_id] = from_plan
                names[blocker_id] = self._name(slug or "", key)
        resolved = self._cross_plan_refs()
        half = len(self.plan.tasks)
        for index, parsed in enumerate(self.plan.tasks, start=1):
            self._at(parsed)
            task = self.tasks[parsed.key]
            before = current.get(task.pk, {})
            stated: dict[int, Task] = {}
            for ref in parsed.depends_on:
                blocker = self.tasks.get(ref) or resolved.get(ref)
                if blocker is not None and blocker.pk != task.pk:
                    stated[blocker.pk] = blocker
                    names[blocker.pk] = self._name(blocker.plan_slug, blocker.key)
            added = [b for pk, b in stated.items() if pk not in before]
            removed = [pk for pk, from_plan in before.items() if from_plan and pk not in stated]
            for blocker in added:
                try:
                    task_add_dependency(
                        blocker=blocker, blocked=task, by=self.by, from_plan=True, graph=graph
                    )
                except LukhasError as exc:
                    raise PlanImportError(parsed.source_line or 1, exc.message) from None
            if removed:
                gone = {t.pk: t for t in Task.objects.filter(pk__in=removed)}
                for pk in removed:
                    task_remove_dependency(blocker=gone[pk], blocked=task, by=self.by, graph=graph)
            if added or removed:
                change = changes[parsed.key]
                after_ids = (set(before) | {b.pk for b in added}) - set(removed)
                after = sorted(names[pk] for pk in after_ids)
                old = None if change.action == "created" else sorted(names[pk] for pk in before)
                change.changes["depends_on"] = [old, after]
                if change.action == "unchanged":
                    change.action = "updated"
            self._tick(half + index, total)

    def _name(self, slug: str, key: str) -> str:
        """A task as this plan names it: its key here, ``PLAN:KEY`` in another plan."""
        return key if slug == self.plan_row.slug else qualified_key(slug, key)

    def _cross_plan_refs(self) -> dict[str, Task]:
        """``PLAN:KEY`` references of the plan, resolved; the unknown ones become warnings."""
        wanted: dict[str, tuple[str, str, ParsedTask]] = {}
        for parsed in self.plan.tasks:
            for ref in parsed.depends_on:
                if ref not in self.tasks and ":" in ref:
                    slug, _, key = ref.partition(":")
                    wanted.setdefault(ref, (slug.lower(), key, parsed))
        if not wanted:
            return {}
        slugs = {slug for slug, _, _ in wanted.values()}
        plans = {p.slug: p for p in Plan.objects.filter(slug__in=slugs).only("id", "slug")}
        found: dict[str, Task] = {}
        for ref, (slug, key, parsed) in wanted.items():
            task = None
            if slug == self.plan_row.slug:
                task = self.tasks.get(key)
            elif slug in plans:
                query = Task.objects.filter(source_plan=plans[slug]).select_related("source_plan")
                task = query.filter(key=key).first()
                if task is None and key.isdigit():
                    task = query.filter(key=f"#{key}").first()
            if task is not None:
                found[ref] = task
                continue
            why = (
                f"plan {slug!r} has no task {key!r}"
                if slug in plans or slug == (self.plan_row.slug)
                else f"no plan is named {slug!r} (import it first)"
            )
            self.report.warnings.append(
                PlanNote(
                    parsed.source_line or 1,
                    f"task {parsed.key} depends on {ref!r}: {why}; the dependency is not recorded",
                )
            )
        return found

    def _statuses(self) -> None:
        """A status the plan states (not plain todo) moves existing tasks through the rules,
        merged three ways as the fields: a move made on the board since the last import
        stays when the plan still says what it said then."""
        changes = {c.key: c for c in self.report.tasks}
        for parsed in self.plan.tasks:
            self._at(parsed)
            change = changes[parsed.key]
            if change.action == "created" or parsed.status in ("", TaskStatus.TODO):
                continue
            task = self.tasks[parsed.key]
            if task.status == parsed.status:
                continue
            base = self.status_base.get(parsed.key, _NO_BASE)
            if base == parsed.status:  # only the board moved it
                continue
            if base != task.status:  # both moved it, or no record of the last import
                change.conflicts["status"] = {
                    "plan": parsed.status,
                    "board": task.status,
                    "imported": None if base is _NO_BASE else base,
                }
                if not self.report.prefer_plan:
                    continue
            before = task.status
            for step in _path(task.status, parsed.status):
                reason = f"blocked in {self.report.source_name}" if step == "blocked" else None
                try:
                    task = task_transition(task=task, to=step, by=self.by, reason=reason)
                except LukhasError as exc:
                    self.report.warnings.append(
                        f"line {parsed.source_line}: the plan says {parsed.key} is "
                        f"{parsed.status} but the board keeps it {task.status}: {exc.message}"
                    )
                    break
            if task.status != before:
                change.changes["status"] = [before, task.status]
                change.action = "updated"
            self.tasks[parsed.key] = task


def _path(start: str, goal: str) -> list[str]:
    """The shortest walk through TRANSITIONS from ``start`` to ``goal`` (without start)."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            steps = []
            while node != start:
                steps.append(node)
                node = previous[node]  # type: ignore[assignment]
            return steps[::-1]
        for nxt in TRANSITIONS.get(node, ()):
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return []


_NO_BASE = object()  # a task imported before merge bases were kept


def _gate_label(gate: PlanGate) -> str:
    return f"{gate.section}: {gate.text}"


def _base(fields: dict[str, Any], collaborators: list[Agent] | None) -> dict[str, Any]:
    """The merge base a new task starts with: the plan's values, as JSON."""
    base = {
        name: _plain_value(value)
        for name, value in fields.items()
        if name not in ("source_plan", "source_line")
    }
    if collaborators is not None:
        base["collaborators"] = _plain_value(collaborators)
    return base


def _live_value(task: Task, name: str) -> Any:
    """A task field as the merge compares it: names for agents and tracks, JSON values."""
    if name == "collaborators":
        return sorted(a.name for a in task.collaborators.all())
    return _plain_value(getattr(task, name))


def _check(text: str, done: bool) -> str:
    return f"[{'x' if done else ' '}] {text}"


def _plain_value(value: Any) -> Any:
    """A JSON-friendly view of a field value for the change report."""
    if isinstance(value, list | tuple) and value and isinstance(value[0], Agent):
        return sorted(a.name for a in value)
    if isinstance(value, Agent):
        return value.name
    if hasattr(value, "name") and not isinstance(value, str):
        return value.name
    if isinstance(value, Plan):
        return value.source_name
    return value

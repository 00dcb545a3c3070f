"""Writes of jobs and flows: start, claim, run a step, advance, decide, cancel, retry, sweep.

The state machine lives here and only here. Every change of a status is a
filtered ``UPDATE … WHERE status = <old>`` that must touch exactly one row,
so two workers, a worker and the sweeper, or two sweepers never both win.
Tasks are enqueued by their stable names after commit (``send_task``), never
by importing ``jobs.tasks``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from jobs import metrics, signals
from jobs.flows import Approval, Flow, Step, Wait, get_flow
from jobs.models import (
    JOB_ACTIVE,
    JOB_TERMINAL,
    STEP_OPEN,
    FlowStep,
    Job,
    JobStatus,
    StepRole,
    StepStatus,
)
from lukhas_site.errors import Conflict, InvalidRequest, NotFound

logger = logging.getLogger(__name__)


class JobCancelled(Exception):
    """Raised inside a step by ``ctx.check_cancelled()`` once its job was cancelled."""


# --------------------------------------------------------------------------- helpers


def _who(by: Any) -> str:
    if by is None:
        return "the system"
    if isinstance(by, AbstractBaseUser):
        return by.get_username()
    return str(by)


def _user(by: Any) -> Any:
    return by if isinstance(by, AbstractBaseUser) else None


# Set by job_start(on_unsent=...) while it runs: told when a message it queued was refused.
_on_unsent: ContextVar[Callable[[Exception], None] | None] = ContextVar("on_unsent", default=None)


def _send(job: Job, flow: Flow, step_name: str, *, countdown: float | None = None) -> None:
    """Put a step's task on the broker once the transaction that queued it commits.

    One quick attempt (no publish retries, no result subscription): a broker
    that is down costs the caller its connect timeout, not kombu's retry loop;
    the row says queued, so the sweeper re-sends it.
    """
    name = flow.task_name(step_name)
    queue = job.queue or None
    pk = job.pk
    on_unsent = _on_unsent.get()

    def publish() -> None:
        try:
            current_app.send_task(
                name,
                args=[pk],
                queue=queue,
                countdown=countdown or None,
                retry=False,
                ignore_result=True,
            )
        except Exception as exc:  # broker down: the row says queued, so the sweeper re-sends it
            logger.warning(
                "could not send %s for job %s; the sweeper will", name, pk, exc_info=True
            )
            if on_unsent is not None:
                on_unsent(exc)

    transaction.on_commit(publish)


def job_log(*, job_id: int, line: str, step: str = "") -> None:
    """Append a line to the job's bounded log (the last JOBS_LOG_LINES are kept)."""
    entry = {"at": timezone.now().isoformat(), "step": step, "line": line[:1000]}
    logger.info("job %s %s: %s", job_id, step or "-", line)
    with transaction.atomic():
        # The row lock orders concurrent appends (parallel steps, the sweeper).
        current = (
            Job.objects.select_for_update().filter(pk=job_id).values_list("log", flat=True).first()
        )
        if current is None:
            return
        lines = [*current, entry][-settings.JOBS_LOG_LINES :]
        Job.objects.filter(pk=job_id).update(log=lines)


def job_progress(*, job_id: int, done: int, total: int, message: str = "") -> None:
    """Record how far a job is (``done`` of ``total``, and what it is doing)."""
    if total < 0 or done < 0 or (total and done > total):
        raise InvalidRequest(f"progress {done}/{total}: done must be between 0 and total")
    Job.objects.filter(pk=job_id).update(
        progress_done=done, progress_total=total, progress_message=message[:200]
    )


def _refresh_running(kind: str) -> None:
    metrics.JOBS_RUNNING.labels(kind).set(
        Job.objects.filter(kind=kind, status=JobStatus.RUNNING).count()
    )


def _count_finished(job: Job, outcome: str, finished_at: datetime) -> None:
    metrics.JOB_TOTAL.labels(job.kind, outcome).inc()
    if job.started_at is not None:
        metrics.JOB_DURATION.labels(job.kind).observe(
            max(0.0, (finished_at - job.started_at).total_seconds())
        )


# --------------------------------------------------------------------------- start


def job_start(
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    target: models.Model | None = None,
    by: Any = None,
    queue: str = "",
    max_attempts: int | None = None,
    on_unsent: Callable[[Exception], None] | None = None,
) -> Job:
    """Create a job of flow ``kind`` with one pending row per step, and queue its first stage.

    ``on_unsent(exc)`` is called after commit if the broker refused the first
    stage's message (the job stays queued; the sweeper re-sends it). It may
    raise, e.g. a 503 for the request that started the job.
    """
    flow = get_flow(kind)
    params = params or {}
    try:
        json.dumps(params)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"params must be JSON: {exc}", param="params") from None
    attempts = max_attempts or flow.max_attempts or settings.JOBS_MAX_ATTEMPTS
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            params=params,
            started_by=_user(by),
            started_by_label="" if _user(by) else _who(by)[:100],
            max_attempts=attempts,
            queue=queue,
            content_type=ContentType.objects.get_for_model(target) if target is not None else None,
            object_id=str(target.pk) if target is not None else "",
            progress_total=flow.total_steps,
        )
        rows = [
            FlowStep(job=job, name=step.name, index=index, kind=step.kind)
            for index, step in flow.all_steps()
        ]
        if flow.on_failure is not None:
            rows.append(
                FlowStep(
                    job=job,
                    name=flow.on_failure.name,
                    index=len(flow.stages),
                    kind=flow.on_failure.kind,
                    role=StepRole.COMPENSATION,
                )
            )
        FlowStep.objects.bulk_create(rows)
        job_log(job_id=job.pk, line=f"started by {_who(by)}")
        token = _on_unsent.set(on_unsent)
        try:
            flow_advance(job_id=job.pk)
        finally:
            _on_unsent.reset(token)
    return Job.objects.get(pk=job.pk)


# --------------------------------------------------------------------------- advance


def flow_advance(*, job_id: int) -> Job | None:
    """Move a flow on from its persisted state: queue the next stage, fail, or finish.

    Idempotent, and safe to call from any process at any time: it only acts
    on what the rows say, under the job's row lock.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in JOB_TERMINAL:
            return job
        flow = get_flow(job.kind)
        now = timezone.now()
        steps = list(job.steps.all())
        main = [s for s in steps if s.role == StepRole.STEP]
        compensation = next((s for s in steps if s.role == StepRole.COMPENSATION), None)
        failed = [s for s in main if s.status == StepStatus.FAILED]
        if failed:
            return _advance_failed(job, flow, failed[0], compensation, now)
        for index in sorted({s.index for s in main}):
            stage = [s for s in main if s.index == index]
            if all(s.status == StepStatus.SUCCEEDED for s in stage):
                continue
            for row in stage:
                if row.status == StepStatus.PENDING:
                    _open_step(job, flow, row, now)
            break
        else:
            return _finish(job, JobStatus.SUCCEEDED, now=now, main=main)
        _sync_status(job, now)
        return job


def _open_step(job: Job, flow: Flow, row: FlowStep, now: datetime) -> None:
    declared = flow.step(row.name)
    pending = FlowStep.objects.filter(pk=row.pk, status=StepStatus.PENDING)
    if isinstance(declared, Approval):
        deadline = now + timedelta(seconds=declared.timeout)
        if pending.update(status=StepStatus.WAITING, deadline_at=deadline, due_at=deadline):
            job_log(
                job_id=job.pk,
                step=row.name,
                line=f"waiting for a decision until {deadline:%Y-%m-%d %H:%M:%S} UTC"
                + (f": {declared.prompt}" if declared.prompt else ""),
            )
    elif isinstance(declared, Wait):
        deadline = now + timedelta(seconds=declared.timeout)
        if pending.update(status=StepStatus.WAITING, deadline_at=deadline, due_at=now):
            job_log(job_id=job.pk, step=row.name, line="waiting for its condition")
            _send(job, flow, row.name)
    elif pending.update(status=StepStatus.QUEUED, due_at=now):
        _send(job, flow, row.name)


def _advance_failed(
    job: Job, flow: Flow, failed: FlowStep, compensation: FlowStep | None, now: datetime
) -> Job:
    FlowStep.objects.filter(job=job, role=StepRole.STEP, status__in=STEP_OPEN).update(
        status=StepStatus.SKIPPED, finished_at=now, due_at=None
    )
    if compensation is not None and compensation.status == StepStatus.PENDING:
        opened = FlowStep.objects.filter(pk=compensation.pk, status=StepStatus.PENDING).update(
            status=StepStatus.QUEUED, due_at=now
        )
        if opened:
            job_log(
                job_id=job.pk,
                step=compensation.name,
                line=f"step {failed.name} failed for good: running the failure path",
            )
            _send(job, flow, compensation.name)
        _sync_status(job, now)
        return job
    if compensation is not None and compensation.status in {
        StepStatus.QUEUED,
        StepStatus.RUNNING,
    }:
        return job  # the failure path is under way; it advances the flow when done
    error = f"step {failed.name} failed: {failed.error}"
    if compensation is not None:
        error += f" (failure path {compensation.name}: {compensation.status})"
    steps = list(job.steps.all())
    return _finish(job, JobStatus.FAILED, now=now, main=steps, error=error)


def _finish(job: Job, status: str, *, now: datetime, main: list[FlowStep], error: str = "") -> Job:
    result = {
        "steps": {s.name: s.output for s in main if s.status == StepStatus.SUCCEEDED and s.output}
    }
    done = sum(1 for s in main if s.status == StepStatus.SUCCEEDED and s.role == StepRole.STEP)
    updated = Job.objects.filter(pk=job.pk, status__in=JOB_ACTIVE).update(
        status=status,
        finished_at=now,
        error=error,
        result=result,
        claimed_by="",
        # A flow that counts its own progress (a plan import: per task) ends full.
        progress_done=job.progress_total
        if status == JobStatus.SUCCEEDED
        else min(done, job.progress_total),
        progress_message=status,
    )
    job.refresh_from_db()
    if updated:
        job_log(job_id=job.pk, line=f"{status}" + (f": {error}" if error else ""))
        _count_finished(job, status, now)
        _refresh_running(job.kind)
        signals.job_finished.send(sender=Job, job=job)
    return job


def _sync_status(job: Job, now: datetime) -> None:
    """The job's status and progress, from its steps' rows (under the job's row lock)."""
    steps = list(job.steps.filter(role=StepRole.STEP))
    statuses = {s.status for s in steps}
    if StepStatus.RUNNING in statuses:
        status = JobStatus.RUNNING
    elif StepStatus.WAITING in statuses:
        status = JobStatus.WAITING
    else:
        status = JobStatus.QUEUED
    done = sum(1 for s in steps if s.status == StepStatus.SUCCEEDED)
    current = [s.name for s in steps if s.status not in {StepStatus.SUCCEEDED, StepStatus.PENDING}]
    message = (", ".join(current) if current else "") or job.progress_message
    Job.objects.filter(pk=job.pk, status__in=JOB_ACTIVE).update(
        status=status, progress_done=min(done, len(steps)), progress_message=message[:200]
    )
    if status != job.status:
        _refresh_running(job.kind)


# --------------------------------------------------------------------------- run a step


@dataclass
class StepContext:
    """What a step function is given: the job's inputs, earlier outputs, progress and log."""

    job_id: int
    step: str
    attempt: int
    worker: str
    params: dict[str, Any]
    outputs: dict[str, Any]
    _heartbeat: _Heartbeat | None = field(default=None, repr=False)

    @property
    def job(self) -> Job:
        return Job.objects.get(pk=self.job_id)

    def progress(self, done: int, total: int, message: str = "") -> None:
        job_progress(job_id=self.job_id, done=done, total=total, message=message)

    def log(self, line: str) -> None:
        job_log(job_id=self.job_id, step=self.step, line=line)

    @property
    def cancelled(self) -> bool:
        if self._heartbeat is not None and self._heartbeat.cancelled:
            return True
        status = Job.objects.filter(pk=self.job_id).values_list("status", flat=True).first()
        return status in {None, JobStatus.CANCELLED}

    def check_cancelled(self) -> None:
        """Long steps call this between units of work: it raises once the job is cancelled."""
        if self.cancelled:
            raise JobCancelled(f"job {self.job_id} was cancelled")


class _Heartbeat(threading.Thread):
    """Says "this worker still runs this step" every JOBS_HEARTBEAT_SECONDS.

    A thread with its own database connection: the step's code may hold the
    main connection in a long query. It also notices a cancelled job.
    """

    def __init__(self, *, step_pk: int, job_pk: int, worker: str) -> None:
        super().__init__(name=f"job-{job_pk}-heartbeat", daemon=True)
        self.step_pk, self.job_pk, self.worker = step_pk, job_pk, worker
        self.cancelled = False
        self.lost = False
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.wait(settings.JOBS_HEARTBEAT_SECONDS):
                try:
                    self._beat()
                except Exception:
                    # A beat that cannot write (SQLite locked by the step's own
                    # long transaction, a dropped connection) must not end the
                    # heartbeat for good: the next beat tries again, so a long
                    # step is not taken for a dead one.
                    logger.warning("heartbeat of job %s failed; retrying", self.job_pk)
                    connection.close()
        finally:
            connection.close()

    def _beat(self) -> None:
        now = timezone.now()
        alive = FlowStep.objects.filter(
            pk=self.step_pk, status=StepStatus.RUNNING, claimed_by=self.worker
        ).update(heartbeat_at=now)
        self.lost = self.lost or not alive
        Job.objects.filter(pk=self.job_pk, status=JobStatus.RUNNING).update(heartbeat_at=now)
        status = Job.objects.filter(pk=self.job_pk).values_list("status", flat=True)
        self.cancelled = status.first() in {None, JobStatus.CANCELLED}

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=settings.JOBS_HEARTBEAT_SECONDS + 5)


def step_execute(*, job_id: int, step_name: str, worker: str) -> str:
    """Run one delivery of a step's task; returns what happened (for the task's result).

    A delivery that cannot claim the step (another worker has it, it already
    succeeded, the job was cancelled, its backoff is not over) does nothing.
    """
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return "no-such-job"
    flow = get_flow(job.kind)
    try:
        declared = flow.step(step_name)
    except NotFound:  # a stale message for a job id reused by another flow
        return "unknown-step"
    if isinstance(declared, Approval):
        return "approval"  # decided by a person (step_decide) or expired by the sweeper
    now = timezone.now()
    source = StepStatus.WAITING if isinstance(declared, Wait) else StepStatus.QUEUED
    early = now + timedelta(seconds=0.5)
    with transaction.atomic():
        claimed = (
            FlowStep.objects.filter(job_id=job_id, name=step_name, status=source)
            .filter(models.Q(due_at__isnull=True) | models.Q(due_at__lte=early))
            .update(
                status=StepStatus.RUNNING,
                claimed_by=worker,
                heartbeat_at=now,
                started_at=Coalesce(F("started_at"), now),
                attempts=F("attempts") + 1,
            )
        )
        if claimed != 1:
            row = FlowStep.objects.filter(job_id=job_id, name=step_name).first()
            state = row.status if row else "missing"
            if state != source:
                job_log(
                    job_id=job_id,
                    step=step_name,
                    line=f"a delivery to {worker} was not claimed: the step is {state}",
                )
            return f"not-claimed:{state}"
        running = Job.objects.filter(pk=job_id, status__in=JOB_ACTIVE).update(
            status=JobStatus.RUNNING,
            claimed_by=worker,
            heartbeat_at=now,
            started_at=Coalesce(F("started_at"), now),
            attempts=Greatest(F("attempts"), 1),
        )
        if not running:
            FlowStep.objects.filter(job_id=job_id, name=step_name).update(
                status=StepStatus.CANCELLED, finished_at=now, claimed_by=""
            )
            return "job-not-active"
    _refresh_running(job.kind)
    row = FlowStep.objects.get(job_id=job_id, name=step_name)
    outputs = dict(
        FlowStep.objects.filter(job_id=job_id, status=StepStatus.SUCCEEDED).values_list(
            "name", "output"
        )
    )
    context = StepContext(
        job_id=job_id,
        step=step_name,
        attempt=row.attempts,
        worker=worker,
        params=job.params,
        outputs=outputs,
    )
    if isinstance(declared, Wait):
        return _poll_condition(job, flow, declared, row, context)
    if row.attempts > 1:
        job_log(job_id=job_id, step=step_name, line=f"attempt {row.attempts} on {worker}")
    heartbeat = _Heartbeat(step_pk=row.pk, job_pk=job_id, worker=worker)
    context._heartbeat = heartbeat
    heartbeat.start()
    try:
        output = declared.run(context) or {}
        json.dumps(output)
    except JobCancelled:
        heartbeat.stop()
        return _step_cancelled(job, row, worker)
    except Exception as exc:
        heartbeat.stop()
        logger.warning("job %s step %s failed", job_id, step_name, exc_info=True)
        return _step_failed(job, flow, declared, row, worker, exc)
    heartbeat.stop()
    return _step_succeeded(job, row, worker, output)


def _mine(row: FlowStep, worker: str) -> models.QuerySet:
    """The step's row if this worker still holds it (or it was re-queued and nobody took it)."""
    return FlowStep.objects.filter(pk=row.pk).filter(
        models.Q(status=StepStatus.RUNNING, claimed_by=worker) | models.Q(status=StepStatus.QUEUED)
    )


def _step_succeeded(job: Job, row: FlowStep, worker: str, output: dict[str, Any]) -> str:
    now = timezone.now()
    with transaction.atomic():
        # Success and the next stage in one transaction: no gap for a crash.
        done = _mine(row, worker).update(
            status=StepStatus.SUCCEEDED,
            output=output if isinstance(output, dict) else {"value": output},
            finished_at=now,
            heartbeat_at=None,
            due_at=None,
            error="",
        )
        if not done:
            job_log(
                job_id=job.pk,
                step=row.name,
                line=f"{worker} finished after losing the step; its result is dropped",
            )
            return "lost"
        job_log(job_id=job.pk, step=row.name, line="succeeded")
        flow_advance(job_id=job.pk)
    return "succeeded"


def _step_failed(
    job: Job, flow: Flow, declared: Step, row: FlowStep, worker: str, exc: Exception
) -> str:
    now = timezone.now()
    error = f"{type(exc).__name__}: {exc}"[:2000]
    attempts = FlowStep.objects.get(pk=row.pk).attempts
    with transaction.atomic():
        if attempts <= declared.retries:
            delay = declared.backoff_for(attempts)
            if not _mine(row, worker).update(
                status=StepStatus.QUEUED,
                error=error,
                claimed_by="",
                heartbeat_at=None,
                due_at=now + timedelta(seconds=delay),
            ):
                return "lost"
            job_log(
                job_id=job.pk,
                step=row.name,
                line=f"attempt {attempts} of {declared.retries + 1} failed ({error}); "
                f"retrying in {delay:g}s",
            )
            _send(job, flow, row.name, countdown=delay)
            _sync_status(job, now)
            return "retrying"
        if not _mine(row, worker).update(
            status=StepStatus.FAILED, error=error, finished_at=now, heartbeat_at=None, due_at=None
        ):
            return "lost"
        job_log(
            job_id=job.pk,
            step=row.name,
            line=f"failed for good after {attempts} attempt(s): {error}",
        )
        if row.role == StepRole.COMPENSATION:
            _finish_after_compensation(job)
        else:
            flow_advance(job_id=job.pk)
    return "failed"


def _finish_after_compensation(job: Job) -> None:
    """The failure path ended (either way): the flow fails with the original step's error."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.status in JOB_TERMINAL:
            return
        steps = list(locked.steps.all())
        failed = next(
            (s for s in steps if s.role == StepRole.STEP and s.status == StepStatus.FAILED), None
        )
        compensation = next(s for s in steps if s.role == StepRole.COMPENSATION)
        cause = f"step {failed.name} failed: {failed.error}" if failed else "the flow failed"
        error = f"{cause} (failure path {compensation.name}: {compensation.status})"
        _finish(locked, JobStatus.FAILED, now=timezone.now(), main=steps, error=error)


def _step_cancelled(job: Job, row: FlowStep, worker: str) -> str:
    FlowStep.objects.filter(pk=row.pk, status=StepStatus.RUNNING, claimed_by=worker).update(
        status=StepStatus.CANCELLED, finished_at=timezone.now(), heartbeat_at=None
    )
    job_log(job_id=job.pk, step=row.name, line="stopped: the job was cancelled")
    return "cancelled"


def _poll_condition(
    job: Job, flow: Flow, declared: Wait, row: FlowStep, context: StepContext
) -> str:
    try:
        met = declared.until(context)
        json.dumps(met if isinstance(met, dict) else {})
    except Exception as exc:  # a failing probe is "not met yet", and says why in the log
        job_log(job_id=job.pk, step=row.name, line=f"condition check failed: {exc}")
        met = None
    now = timezone.now()
    worker = context.worker
    with transaction.atomic():
        if met:
            if _mine(row, worker).update(
                status=StepStatus.SUCCEEDED,
                output=met if isinstance(met, dict) else {"met": True},
                finished_at=now,
                heartbeat_at=None,
                due_at=None,
            ):
                job_log(job_id=job.pk, step=row.name, line="condition met")
                flow_advance(job_id=job.pk)
            return "met"
        if row.deadline_at is not None and now >= row.deadline_at:
            if _mine(row, worker).update(
                status=StepStatus.FAILED,
                error=f"condition not met within {declared.timeout:g}s",
                finished_at=now,
                heartbeat_at=None,
                due_at=None,
            ):
                job_log(job_id=job.pk, step=row.name, line="timed out waiting for its condition")
                flow_advance(job_id=job.pk)
            return "timed-out"
        if _mine(row, worker).update(
            status=StepStatus.WAITING,
            claimed_by="",
            heartbeat_at=None,
            due_at=now + timedelta(seconds=declared.poll),
        ):
            _send(job, flow, row.name, countdown=declared.poll)
            _sync_status(job, now)
        return "waiting"


# --------------------------------------------------------------------------- people


def step_decide(
    *, job: Job, approve: bool, by: Any, reason: str = "", step_name: str | None = None
) -> FlowStep:
    """Approve or reject the approval step a job waits on, recording who and why."""
    reason = (reason or "").strip()
    if not approve and not reason:
        raise InvalidRequest("A rejection needs a reason.", param="reason")
    waiting = FlowStep.objects.filter(job=job, kind="approval", status=StepStatus.WAITING)
    if step_name:
        waiting = waiting.filter(name=step_name)
    row = waiting.first()
    if row is None:
        raise Conflict(
            f"Job {job.pk} has no step waiting for a decision"
            + (f" named {step_name!r}" if step_name else "")
            + f" (the job is {job.status}).",
            param="step" if step_name else None,
        )
    now = timezone.now()
    if row.deadline_at is not None and now >= row.deadline_at:
        raise Conflict(
            f"The decision on {row.name} was due by {row.deadline_at:%Y-%m-%d %H:%M:%S} UTC.",
            code="decision_expired",
        )
    who = _who(by)
    verdict = "approved" if approve else "rejected"
    with transaction.atomic():
        decided = FlowStep.objects.filter(pk=row.pk, status=StepStatus.WAITING).update(
            status=StepStatus.SUCCEEDED if approve else StepStatus.FAILED,
            decision=verdict,
            decided_by=_user(by),
            decided_at=now,
            reason=reason,
            finished_at=now,
            due_at=None,
            error="" if approve else f"rejected by {who}: {reason}",
            output={"decision": verdict, "by": who, "reason": reason},
        )
        if decided != 1:
            raise Conflict(f"The step {row.name} of job {job.pk} was decided already.")
        job_log(
            job_id=job.pk,
            step=row.name,
            line=f"{verdict} by {who}" + (f": {reason}" if reason else ""),
        )
        flow_advance(job_id=job.pk)
    row.refresh_from_db()
    return row


def job_cancel(*, job: Job, by: Any = None, reason: str = "") -> Job:
    """Stop a job: open steps are cancelled; a running step stops at its next check."""
    now = timezone.now()
    who = _who(by)
    with transaction.atomic():
        cancelled = Job.objects.filter(pk=job.pk, status__in=JOB_ACTIVE).update(
            status=JobStatus.CANCELLED,
            finished_at=now,
            cancelled_by=_user(by),
            error=f"cancelled by {who}" + (f": {reason}" if reason else ""),
            claimed_by="",
        )
        if cancelled != 1:
            job.refresh_from_db()
            raise Conflict(
                f"Job {job.pk} is {job.status}: only a queued, running or waiting job can be "
                "cancelled."
            )
        FlowStep.objects.filter(job=job, status__in=STEP_OPEN).update(
            status=StepStatus.CANCELLED, finished_at=now, due_at=None
        )
        job_log(job_id=job.pk, line=f"cancelled by {who}" + (f": {reason}" if reason else ""))
        job.refresh_from_db()
        _count_finished(job, JobStatus.CANCELLED, now)
        _refresh_running(job.kind)
        signals.job_finished.send(sender=Job, job=job)
    return job


def job_retry(*, job: Job, by: Any = None) -> Job:
    """Run a failed or cancelled job again from where it stopped (succeeded steps stay done)."""
    with transaction.atomic():
        reopened = Job.objects.filter(
            pk=job.pk, status__in=[JobStatus.FAILED, JobStatus.CANCELLED]
        ).update(
            status=JobStatus.QUEUED,
            error="",
            finished_at=None,
            attempts=0,
            cancelled_by=None,
        )
        if reopened != 1:
            job.refresh_from_db()
            raise Conflict(
                f"Job {job.pk} is {job.status}: only a failed or cancelled job can be retried."
            )
        FlowStep.objects.filter(
            job=job,
            status__in=[
                StepStatus.FAILED,
                StepStatus.SKIPPED,
                StepStatus.CANCELLED,
                StepStatus.QUEUED,
                StepStatus.WAITING,
            ],
        ).update(
            status=StepStatus.PENDING,
            attempts=0,
            error="",
            claimed_by="",
            heartbeat_at=None,
            due_at=None,
            deadline_at=None,
            decision="",
            decided_by=None,
            decided_at=None,
            reason="",
            finished_at=None,
        )
        # The failure path ran for the failure being retried; it may run again.
        FlowStep.objects.filter(job=job, role=StepRole.COMPENSATION).update(
            status=StepStatus.PENDING, attempts=0, error="", output={}, finished_at=None
        )
        job_log(job_id=job.pk, line=f"retried by {_who(by)}")
        flow_advance(job_id=job.pk)
    job.refresh_from_db()
    return job


# --------------------------------------------------------------------------- sweeper


@dataclass
class SweepReport:
    resumed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    resent: list[str] = field(default_factory=list)
    advanced: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, list]:
        return {
            "resumed": self.resumed,
            "failed": self.failed,
            "expired": self.expired,
            "resent": self.resent,
            "advanced": self.advanced,
        }


def jobs_sweep(*, now: datetime | None = None) -> SweepReport:
    """Beat's round: resume steps whose worker died, expire approvals, re-send lost messages.

    Each repair is a filtered update on the value the sweeper read (the old
    heartbeat, the old due time), so concurrent sweepers repair a step once.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.JOBS_STALE_SECONDS)
    report = SweepReport()
    lost = FlowStep.objects.filter(status=StepStatus.RUNNING, heartbeat_at__lt=stale_before)
    for row in lost.select_related("job")[:500]:
        _resume_lost(row, now, report)
    expired = FlowStep.objects.filter(
        status=StepStatus.WAITING, kind="approval", deadline_at__lte=now
    )
    for row in expired[:500]:
        _expire_approval(row, now, report)
    overdue = FlowStep.objects.filter(
        models.Q(status=StepStatus.QUEUED) | models.Q(status=StepStatus.WAITING, kind="wait"),
        due_at__lt=stale_before,
        job__status__in=JOB_ACTIVE,
    ).select_related("job")
    for row in overdue[:500]:
        with transaction.atomic():
            if FlowStep.objects.filter(pk=row.pk, status=row.status, due_at=row.due_at).update(
                due_at=now
            ):
                job_log(job_id=row.job_id, step=row.name, line="message overdue: sent again")
                _send(row.job, get_flow(row.job.kind), row.name)
                report.resent.append(f"{row.job_id}/{row.name}")
    # A job whose steps are all settled but that is still active (no step left
    # to move it on): advancing it again is idempotent.
    idle = (
        Job.objects.filter(status__in=JOB_ACTIVE, updated_at__lt=stale_before)
        .exclude(steps__status__in=[StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.WAITING])
        .values_list("pk", flat=True)
    )
    for pk in list(idle[:500]):
        flow_advance(job_id=pk)
        report.advanced.append(pk)
    return report


def _resume_lost(row: FlowStep, now: datetime, report: SweepReport) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=row.job_id)
        worker, last = row.claimed_by, row.heartbeat_at
        released = FlowStep.objects.filter(
            pk=row.pk, status=StepStatus.RUNNING, heartbeat_at=last
        ).update(status=StepStatus.QUEUED, claimed_by="", heartbeat_at=None, due_at=now)
        if released != 1:
            return  # it heartbeated, finished, or another sweeper got there first
        where = f"worker {worker or '?'} stopped (last heartbeat {last:%H:%M:%S})"
        if job.status in JOB_TERMINAL:
            FlowStep.objects.filter(pk=row.pk).update(status=StepStatus.CANCELLED, finished_at=now)
            return
        if job.attempts >= job.max_attempts:
            error = (
                f"{where} during {row.name}; the job was started {job.attempts} time(s), "
                f"max_attempts is {job.max_attempts}"
            )
            FlowStep.objects.filter(pk=row.pk).update(
                status=StepStatus.FAILED, error=error, finished_at=now, due_at=None
            )
            job_log(job_id=job.pk, step=row.name, line=f"giving up: {error}")
            report.failed.append(f"{job.pk}/{row.name}")
            if row.role == StepRole.COMPENSATION:
                _finish_after_compensation(job)
            else:
                flow_advance(job_id=job.pk)
            return
        Job.objects.filter(pk=job.pk).update(attempts=F("attempts") + 1, claimed_by="")
        job_log(
            job_id=job.pk,
            step=row.name,
            line=f"{where}: resuming, attempt {job.attempts + 1} of {job.max_attempts}",
        )
        _send(job, get_flow(job.kind), row.name)
        _sync_status(job, now)
        report.resumed.append(f"{job.pk}/{row.name}")


def _expire_approval(row: FlowStep, now: datetime, report: SweepReport) -> None:
    with transaction.atomic():
        expired = FlowStep.objects.filter(pk=row.pk, status=StepStatus.WAITING).update(
            status=StepStatus.FAILED,
            decision="expired",
            finished_at=now,
            due_at=None,
            error=f"no decision by {row.deadline_at:%Y-%m-%d %H:%M:%S} UTC",
        )
        if expired != 1:
            return
        job_log(job_id=row.job_id, step=row.name, line="timed out waiting for a decision")
        report.expired.append(f"{row.job_id}/{row.name}")
        flow_advance(job_id=row.job_id)

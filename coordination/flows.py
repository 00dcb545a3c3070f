"""The ``plan-import`` flow: a large plan imported by a worker, with a progress bar.

``plan_import_start`` (coordination.services.plan_import) stores the upload as a
``PlanUpload`` and starts this flow with its id in the params:

- ``parse`` reads the stored plan again (a bad plan fails here with its line)
  and sets the bar's total: two ticks per task (the tasks, then their
  dependencies), as the importer counts them.
- ``apply`` imports it in one transaction. Re-running it after a lost worker
  redoes the import from the start: the transaction of the dead run was rolled
  back, and one that did commit makes the rerun find every task unchanged.

The importer's progress is written by a thread of its own (its own database
connection) because the import's transaction holds the step's connection:
a write on it would only be seen at the commit. On PostgreSQL the bar moves
during the import; on SQLite (one writer at a time) it jumps when it commits.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.db import DatabaseError, connection

from coordination.services.plan_import import (
    PLAN_IMPORT_FLOW,
    import_job_summary,
    plan_upload_import,
    plan_upload_parse,
)
from jobs.flows import Flow, Step, register
from jobs.services import StepContext

logger = logging.getLogger(__name__)

# How often the relay writes the latest progress (seconds): a 30,000-task plan
# ticks 60,000 times, and one UPDATE per tick would be most of the work.
PROGRESS_EVERY = 0.5


class _ProgressRelay(threading.Thread):
    """Keeps the latest (done, total, message) and writes it on its own connection."""

    def __init__(self, ctx: StepContext) -> None:
        super().__init__(name=f"job-{ctx.job_id}-progress", daemon=True)
        self.ctx = ctx
        self._lock = threading.Lock()
        self._latest: tuple[int, int, str] | None = None
        self._written: tuple[int, int, str] | None = None
        self._stopped = threading.Event()

    def update(self, done: int, total: int, message: str = "") -> None:
        with self._lock:
            self._latest = (done, total, message)

    def _flush(self) -> None:
        with self._lock:
            latest = self._latest
        if latest is None or latest == self._written:
            return
        try:
            self.ctx.progress(*latest)
            self._written = latest
        except DatabaseError as exc:  # SQLite busy with the import: try again next time
            logger.info("progress of job %s not written yet: %s", self.ctx.job_id, exc)

    def run(self) -> None:
        try:
            while not self._stopped.wait(PROGRESS_EVERY):
                self._flush()
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopped.set()
        self.join()


def parse(ctx: StepContext) -> dict[str, Any]:
    plan = plan_upload_parse(upload_id=ctx.params["upload"])
    ctx.progress(0, 2 * len(plan.tasks), f"parsed {len(plan.tasks)} tasks")
    ctx.log(f"{plan.source_name}: {len(plan.tasks)} tasks, {len(plan.warnings)} warnings")
    return {"tasks": len(plan.tasks), "title": plan.title, "checksum": plan.checksum}


def apply(ctx: StepContext) -> dict[str, Any]:
    if ctx.attempt > 1:
        ctx.log(f"attempt {ctx.attempt}: importing again from the start (one transaction)")
    relay = _ProgressRelay(ctx)
    relay.start()
    try:
        report = plan_upload_import(
            upload_id=ctx.params["upload"],
            progress=relay.update,
            plan_slug=ctx.params.get("plan", ""),
            prefer_plan=bool(ctx.params.get("prefer_plan", False)),
        )
    finally:
        relay.stop()
    total = 2 * len(report.tasks)
    ctx.progress(total, total, "imported")
    summary = import_job_summary(report)
    ctx.log(summary["summary"])
    return summary


register(
    Flow(
        PLAN_IMPORT_FLOW,
        description="A large markdown plan imported into tasks, with a progress bar",
        steps=[Step("parse", parse), Step("apply", apply)],
        module=__name__,
    )
)

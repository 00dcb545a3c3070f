"""Claimed background work that survives its worker: heartbeats, stale-claim sweeps, re-publish.

A row that a worker claims (``status`` queued → running) stamps a heartbeat
while it runs. If the worker dies (OOM-killer, ``kill -9``, a lost machine)
the heartbeat stops, and the redelivered Celery message — if any — refuses
the row because it is still ``running``. :func:`claims_sweep` is what gives
such a row back: on beat, every row whose heartbeat is older than the stale
cutoff is put back to queued (or failed, once it used its attempts) with one
conditional UPDATE each, so two sweepers never both re-queue it; the same
sweep re-publishes queued rows whose publish failed (broker down during the
request) or whose message the broker lost.

Nothing here knows dreams: a :class:`ClaimSpec` names the model and its
status/heartbeat/attempt fields, so the jobs framework can reuse it as is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import Model, Q
from django.utils import timezone

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClaimSpec:
    """Where a claimable model keeps its claim: the field names and status values."""

    model: type[Model]
    queued: str
    running: str
    failed: str
    status_field: str = "status"
    heartbeat_field: str = "heartbeat_at"
    enqueued_field: str = "enqueued_at"
    attempts_field: str = "attempts"
    error_field: str = "error"
    finished_field: str = "finished_at"
    updated_field: str = "updated_at"
    # Extra columns to set when a row is re-queued (e.g. clear ``started_at``).
    requeue_fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    published: list[int] = field(default_factory=list)
    publish_failed: list[int] = field(default_factory=list)


Publish = Callable[[int], None]


def claims_sweep(
    *,
    spec: ClaimSpec,
    stale_before: datetime,
    lost_before: datetime,
    max_attempts: int,
    publish: Publish,
) -> SweepReport:
    """Re-queue (or fail) running rows whose heartbeat stopped; publish queued rows nobody will.

    * running, heartbeat older than ``stale_before``: back to queued and
      published, unless it already ran ``max_attempts`` times — then failed,
      saying so. One conditional UPDATE per row: exactly one sweeper wins.
    * queued, never published (``enqueued_field`` null) and untouched since
      ``stale_before``: the request's publish failed; publish it now.
    * queued, published before ``lost_before`` (the broker's visibility
      timeout): the message is presumed lost; publish it again (a duplicate
      is harmless, the claim is atomic).
    """
    report = SweepReport()
    manager = spec.model._default_manager
    status, heartbeat, attempts = spec.status_field, spec.heartbeat_field, spec.attempts_field
    stale = manager.filter(**{status: spec.running, f"{heartbeat}__lt": stale_before})
    now = timezone.now()
    for pk, tries in stale.values_list("pk", attempts):
        row = manager.filter(pk=pk, **{status: spec.running, f"{heartbeat}__lt": stale_before})
        if tries >= max_attempts:
            reason = (
                f"its worker stopped (no heartbeat since before {stale_before.isoformat()}) "
                f"on each of {tries} attempts; not retried again"
            )
            won = row.update(
                **{
                    status: spec.failed,
                    spec.error_field: reason,
                    spec.finished_field: now,
                    spec.updated_field: now,
                }
            )
            if won == 1:
                report.failed.append(pk)
                log.warning("%s %s failed: %s", spec.model.__name__, pk, reason)
            continue
        won = row.update(
            **{
                status: spec.queued,
                heartbeat: None,
                spec.enqueued_field: None,
                spec.updated_field: now,
                **spec.requeue_fields,
            }
        )
        if won == 1:
            report.requeued.append(pk)
            log.warning(
                "%s %s re-queued: no heartbeat since before %s (attempt %d of %d ran)",
                spec.model.__name__, pk, stale_before.isoformat(), tries, max_attempts,
            )  # fmt: skip
    unpublished = Q(
        **{f"{spec.enqueued_field}__isnull": True, f"{spec.updated_field}__lt": stale_before}
    )
    lost = Q(**{f"{spec.enqueued_field}__lt": lost_before})
    waiting = manager.filter(unpublished | lost, **{status: spec.queued})
    pks = list(dict.fromkeys([*report.requeued, *waiting.values_list("pk", flat=True)]))
    for pk in pks:
        if claims_publish(spec=spec, pk=pk, publish=publish):
            report.published.append(pk)
        else:
            report.publish_failed.append(pk)
    return report


def claims_publish(*, spec: ClaimSpec, pk: int, publish: Publish) -> bool:
    """Publish a queued row's task and stamp ``enqueued_field``; False (row left null) if refused.

    The stamp is written first, by a conditional UPDATE, so two sweeps do not
    both publish; a failed publish clears it again for the next sweep.
    """
    manager = spec.model._default_manager
    now = timezone.now()
    previous = manager.filter(pk=pk).values_list(spec.enqueued_field, flat=True).first()
    won = manager.filter(
        pk=pk, **{spec.status_field: spec.queued, spec.enqueued_field: previous}
    ).update(**{spec.enqueued_field: now})
    if won != 1:
        return False
    try:
        publish(pk)
    except Exception:
        log.warning("publishing %s %s failed", spec.model.__name__, pk, exc_info=True)
        manager.filter(pk=pk, **{spec.enqueued_field: now}).update(**{spec.enqueued_field: None})
        return False
    return True


class Heartbeat:
    """Stamps ``heartbeat_field`` of a running row every ``every`` seconds, in a thread.

    ``guard`` are the column values that make the row still this run's (its
    attempt number): once they no longer match — re-queued by a sweep, or
    finished — the thread stops stamping. The thread uses its own database
    connection and closes it when it stops.
    """

    def __init__(
        self, *, spec: ClaimSpec, pk: int, every: float, guard: Mapping[str, Any] | None = None
    ) -> None:
        self.spec, self.pk, self.every = spec, pk, every
        self.guard = dict(guard or {})
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{spec.model.__name__}-{pk}", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.every * 2))

    def beat(self) -> bool:
        """One stamp now; False once the row is no longer this run's."""
        manager = self.spec.model._default_manager
        with transaction.atomic():
            stamped = manager.filter(
                pk=self.pk, **{self.spec.status_field: self.spec.running}, **self.guard
            ).update(**{self.spec.heartbeat_field: timezone.now()})
        self.beats += stamped
        return stamped == 1

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    if not self.beat():
                        return
                except Exception:  # a database hiccup: try again on the next beat
                    log.warning("heartbeat of %s failed", self.pk, exc_info=True)
                    close_old_connections()
        finally:
            connection.close()

"""Writes of a soak: releases, runs, snapshots, the sentinel's round.

A snapshot measures every gate (the reads happen outside any transaction:
Prometheus or a probe may take seconds), then, under the run's row lock,
writes one GateResult per gate for the snapshot and updates the run-level
GateResult of each gate, the run's hours covered and its phase
(``soak.evaluation`` decides; this module only records).

Hours covered: a complete snapshot covers the time since the previous
snapshot (or the run's start), capped at twice ``LUKHAS_SOAK_SNAPSHOT_SECONDS``;
an incomplete one covers nothing (``soak.evaluation.coverage``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from lukhas_site.errors import Conflict, InvalidRequest, Unprocessable
from soak import evaluation, load, selectors, sources
from soak.gates import GateFileError, GateSet, GateSpec, load_gates
from soak.models import (
    ACTIVE_PHASES,
    AlertRecord,
    GateResult,
    Phase,
    Release,
    ReleaseStatus,
    Snapshot,
    SoakRun,
)
from soak.services.artifacts import artifact_probes, health_artifact_write
from soak.services.notify import notification_send
from soak.services.scrapes import metric_scrape_take
from soak.sources.base import MeasureContext, Measurement, SourceError

log = logging.getLogger(__name__)

# A run whose planned hours are not covered by then ends anyway (inconclusive):
# gaps extend a soak, but not for ever.
DEADLINE_FACTOR = 2

_RC_SUFFIX = re.compile(r"-(rc|beta|alpha)[.\d]*$", re.IGNORECASE)


def _label(by: AbstractBaseUser | None) -> str:
    return f"user:{by.get_username()}" if by is not None else "cli"


def gates_current() -> GateSet:
    """The gates file as it is now (its checksum goes with every evaluation)."""
    try:
        return load_gates(settings.SOAK_GATES_FILE)
    except GateFileError as exc:
        raise Unprocessable(str(exc), code="gates_file_invalid") from exc


# --------------------------------------------------------------------------- releases


def release_version(name: str) -> str:
    """'v0.9.0-rc' → '0.9.0': the GA version a candidate becomes."""
    return _RC_SUFFIX.sub("", name).lstrip("vV") or name


def release_ensure(*, name: str, version: str | None = None, git_ref: str = "") -> Release:
    """The release named ``name``, created as a candidate when new (idempotent)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidRequest("a release needs a name of 1 to 100 characters", param="release")
    release, created = Release.objects.get_or_create(
        name=name, defaults={"version": version or release_version(name), "git_ref": git_ref}
    )
    changed = []
    if not created and version and release.version != version:
        release.version, changed = version, [*changed, "version"]
    if not created and git_ref and release.git_ref != git_ref:
        release.git_ref, changed = git_ref, [*changed, "git_ref"]
    if changed:
        release.save(update_fields=[*changed, "updated_at"])
    return release


# --------------------------------------------------------------------------- runs


def _start_load(run: SoakRun) -> None:
    """Start the synthetic load of ``run`` (none when LUKHAS_SOAK_LOAD_ENABLED is off)."""
    load.load_start(run=run)


def _stop_load(run: SoakRun) -> None:
    if not (run.load_pid or run.load_dir):
        return
    try:
        load.load_stop(run=run)
    except Exception:  # ending a run must not fail on its load process
        log.exception("soak run %s: the load did not stop cleanly", run.pk)


def _load_results(run: SoakRun, since: datetime) -> dict[str, Any] | None:
    if not (run.load_pid or run.load_dir):
        return None
    try:
        return load.load_results(run=run, since=since)
    except Exception:  # a snapshot records what it can
        log.exception("soak run %s: load results unreadable", run.pk)
        return None


def soak_start(
    *,
    release: Release | str,
    target_url: str = "",
    planned_hours: int = 48,
    by: AbstractBaseUser | None = None,
    by_label: str = "",
) -> SoakRun:
    """Start a soak of ``release``; Conflict when a soak is already going on.

    One soak at a time on a site: two would share the target and the load.
    The gates' checksum and version are recorded; the sentinel takes the
    first snapshot at its next beat.
    """
    if isinstance(release, str):
        release = release_ensure(name=release)
    if not 1 <= int(planned_hours) <= 24 * 30:
        raise InvalidRequest("planned hours must be between 1 and 720", param="planned_hours")
    if target_url and not target_url.startswith(("http://", "https://")):
        raise InvalidRequest("the target must be an http(s) URL", param="target_url")
    if release.status in (ReleaseStatus.PROMOTED, ReleaseStatus.REJECTED):
        raise Conflict(f"release {release.name} is {release.status}; soak a new candidate")
    gates = gates_current()
    active = selectors.active_run()
    if active is not None:
        raise Conflict(
            f"a soak is already running: {active.release.name} (run #{active.pk}); abort it first",
            code="soak_running",
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            run = SoakRun.objects.create(
                release=release,
                target_url=target_url.rstrip("/"),
                planned_hours=int(planned_hours),
                phase=Phase.RUNNING,
                started_at=now,
                gates_checksum=gates.checksum,
                gates_version=gates.version,
                started_by=by,
                started_by_label=by_label or _label(by),
                message=f"running: 0.00 of {int(planned_hours)} planned hours covered",
            )
            Release.objects.filter(pk=release.pk).update(
                status=ReleaseStatus.SOAKING, updated_at=now
            )
    except IntegrityError as exc:
        # The database's one-active-run constraint: a concurrent start won.
        raise Conflict(f"{release.name} is already soaking", code="soak_running") from exc
    release.status = ReleaseStatus.SOAKING
    try:
        _start_load(run)
    except Exception as exc:  # the soak runs on (and says so); the gates will show the cost
        log.exception("soak run %s: the synthetic load did not start", run.pk)
        SoakRun.objects.filter(pk=run.pk).update(
            message=f"{run.message}; the synthetic load did not start: {exc}"
        )
    run.refresh_from_db()
    log.info("soak started: %s run #%s for %s h", release.name, run.pk, planned_hours)
    return run


def _finish(run: SoakRun, *, phase: str, message: str, now: datetime) -> bool:
    """Claim the end of an active run (only one ender wins); stops its load."""
    claimed = SoakRun.objects.filter(pk=run.pk, phase__in=ACTIVE_PHASES).update(
        phase=phase, ended_at=now, message=message, updated_at=now
    )
    if claimed != 1:
        return False
    Release.objects.filter(pk=run.release_id, status=ReleaseStatus.SOAKING).update(
        status=ReleaseStatus.CANDIDATE, updated_at=now
    )
    run.phase, run.ended_at, run.message = phase, now, message
    transaction.on_commit(lambda: _stop_load(run))
    return True


def soak_abort(*, run: SoakRun, by: AbstractBaseUser | None, reason: str) -> SoakRun:
    """Stop a soak by hand, with the reason recorded (Conflict when it is over)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("say why the soak is aborted", param="reason")
    now = timezone.now()
    who = _label(by)
    with transaction.atomic():
        if not _finish(run, phase=Phase.ABORTED, message=f"aborted by {who}: {reason}", now=now):
            run.refresh_from_db()
            raise Conflict(f"run #{run.pk} is already {run.phase}", code="soak_not_running")
        SoakRun.objects.filter(pk=run.pk).update(aborted_reason=reason)
        run.aborted_reason = reason
        notification_send(event="run_aborted", run=run, extra={"by": who, "reason": reason})
    return run


# --------------------------------------------------------------------------- snapshots


def window_start(gate: GateSpec, run: SoakRun, now: datetime) -> datetime:
    """The start of a gate's window: the run's start, or now - window (not before the start)."""
    started = run.started_at or now
    if gate.window == "soak":
        return started
    amount, unit = int(gate.window[:-1]), gate.window[-1]
    span = timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    return max(started, now - span)


def run_figures(run: SoakRun, now: datetime, hours_covered: float) -> dict[str, float]:
    """The figures the ``soak`` source reads (``key: hours_covered`` …)."""
    started = run.started_at or now
    return {
        "hours_covered": round(hours_covered, 4),
        "hours_elapsed": round((now - started).total_seconds() / 3600.0, 4),
        "planned_hours": float(run.planned_hours),
        "out_of_time": float(now >= run_deadline(run)),
    }


def run_deadline(run: SoakRun) -> datetime:
    """When a run ends whatever its hours covered: DEADLINE_FACTOR times its planned hours."""
    started = run.started_at or timezone.now()
    return started + timedelta(hours=DEADLINE_FACTOR * run.planned_hours)


def _context(
    run: SoakRun, gate: GateSpec, now: datetime, figures: dict[str, float]
) -> MeasureContext:
    return MeasureContext(
        run_id=run.pk,
        release=run.release.name,
        target_url=run.target_url or settings.SOAK_SELF_URL,
        now=now,
        started_at=run.started_at or now,
        window_start=window_start(gate, run, now),
        prometheus_url=settings.SOAK_PROMETHEUS_URL,
        run_figures=figures,
    )


def declared_query(gate: GateSpec, ctx: MeasureContext) -> str:
    """What the gate asks its source for, as written (shown when the source failed)."""
    tasks = gate.tasks.model_dump(exclude_defaults=True) if gate.tasks else {}
    declared = {
        "metrics": gate.query or f"sli {gate.sli}",
        "probe": f"probe {gate.probe} of {ctx.target_url}",
        "health": f"health report key {gate.key}",
        "coordination": f"tasks {tasks}",
        "alerts": f"alerts of severity {gate.alert_severity}",
        "soak": f"run #{ctx.run_id} {gate.key}",
    }
    return declared.get(gate.source, gate.source)


def _measure(gate: GateSpec, ctx: MeasureContext) -> evaluation.Verdict:
    try:
        reading: Measurement | SourceError = sources.measure(gate, ctx)
    except SourceError as exc:
        reading = exc
    verdict = evaluation.judge(gate, reading)
    if not verdict.query:
        verdict = replace(verdict, query=declared_query(gate, ctx))
    return verdict


def _standing(row: GateResult | None, gate: GateSpec) -> evaluation.Standing | None:
    if row is None:
        return None
    return evaluation.Standing(
        gate_id=gate.id,
        phase=row.phase,
        value=row.value,
        query=row.query,
        message=row.message,
        successful=row.successful,
        failed=row.failed,
        inconclusive=row.inconclusive,
        errors=row.errors,
        consecutive_errors=row.consecutive_errors,
        # A critical gate that failed once stays failed; a trailing gate too.
        failed_for_good=gate.severity == "critical" and row.failed > 0,
        ever_failed=row.failed > 0,
    )


def _gate_fields(gate: GateSpec) -> dict[str, Any]:
    return {
        "title": gate.title,
        "source": gate.source,
        "severity": gate.severity,
        "advisory": gate.advisory,
        "comparator": gate.comparator,
        "threshold": gate.threshold,
        "window": gate.window,
    }


def snapshot_take(
    *, run: SoakRun, now: datetime | None = None, by_label: str = "", scrape: bool = True
) -> Snapshot:
    """Measure every gate now, record it, and move the run's phase (Conflict when over).

    ``scrape``: take the embedded source's sample first, so a snapshot asked
    for by hand reads the target as it is now (the sentinel has just taken
    one and passes False).
    """
    now = now or timezone.now()
    if run.phase not in ACTIVE_PHASES:
        raise Conflict(f"run #{run.pk} is {run.phase}: no more snapshots", code="soak_not_running")
    gates = gates_current()
    if scrape:
        embedded_scrape(run, now)
    previous = selectors.latest_snapshot(run)
    previous_at = previous.taken_at if previous else run.started_at
    if previous_at and now < previous_at:
        raise Conflict("a snapshot cannot be older than the previous one", code="snapshot_order")
    # Every gate but the run's own figures first: they decide whether the
    # snapshot is complete, and so the hours the ``soak`` gates then read.
    verdicts: dict[str, evaluation.Verdict] = {}
    figures = run_figures(run, now, run.hours_covered)
    for gate in gates.gates:
        if gate.source != "soak":
            verdicts[gate.id] = _measure(gate, _context(run, gate, now, figures))
    complete = evaluation.snapshot_complete(gates.gates, verdicts)
    load = _load_results(run, since=previous_at or now)
    # The artifact's HTTP checks (Prometheus, Grafana, the target) happen
    # here too, outside the lock, like the gates' reads.
    probes = artifact_probes(run=run)

    with transaction.atomic():
        locked = SoakRun.objects.select_for_update().get(pk=run.pk)
        if locked.phase not in ACTIVE_PHASES:
            raise Conflict(
                f"run #{run.pk} ended meanwhile ({locked.phase})", code="soak_not_running"
            )
        # Coverage from the locked row and the latest snapshot as of now: a
        # snapshot another process wrote meanwhile is not covered twice.
        latest = selectors.latest_snapshot(locked)
        previous_at = latest.taken_at if latest else locked.started_at
        if previous_at and now < previous_at:
            raise Conflict("a newer snapshot exists", code="snapshot_order")
        added = evaluation.coverage(
            previous_at.timestamp() if previous_at else None,
            now.timestamp(),
            complete=complete,
            interval_seconds=settings.SOAK_SNAPSHOT_SECONDS,
        )
        hours = locked.hours_covered + added
        figures = run_figures(locked, now, hours)
        for gate in gates.gates:
            if gate.source == "soak":  # the run's own figures: no I/O, read under the lock
                verdicts[gate.id] = _measure(gate, _context(locked, gate, now, figures))
        snapshot = Snapshot.objects.create(
            run=locked,
            taken_at=now,
            complete=complete,
            run_phase=locked.phase,
            gates_checksum=gates.checksum,
            load_results=load,
            taken_by_label=by_label or "cli",
        )
        standing_rows = {row.gate_id: row for row in selectors.run_gate_results(locked)}
        standings: dict[str, evaluation.Standing] = {}
        newly_failed: list[GateSpec] = []
        per_snapshot = []
        for gate in gates.gates:
            verdict = verdicts[gate.id]
            tasks = list(verdict.detail.get("tasks", []))
            per_snapshot.append(
                GateResult(
                    run=locked,
                    snapshot=snapshot,
                    gate_id=gate.id,
                    phase=verdict.phase,
                    value=verdict.value,
                    message=verdict.message,
                    query=verdict.query,
                    successful=int(verdict.phase == evaluation.SUCCESSFUL),
                    failed=int(verdict.phase == evaluation.FAILED),
                    inconclusive=int(verdict.phase == evaluation.INCONCLUSIVE),
                    errors=int(verdict.phase == evaluation.ERROR),
                    consecutive_errors=int(verdict.phase == evaluation.ERROR),
                    tasks=tasks,
                    **_gate_fields(gate),
                )
            )
            row = standing_rows.get(gate.id)
            before = _standing(row, gate)
            standing = evaluation.standing_update(gate, before, verdict)
            standings[gate.id] = standing
            was_failed = before is not None and before.phase == Phase.FAILED
            critical = gate.severity == "critical" and gate.blocking
            if critical and standing.phase == evaluation.FAILED and not was_failed:
                newly_failed.append(gate)
            values = {
                "phase": standing.phase,
                "value": standing.value,
                "message": standing.message,
                "query": standing.query,
                "successful": standing.successful,
                "failed": standing.failed,
                "inconclusive": standing.inconclusive,
                "errors": standing.errors,
                "consecutive_errors": standing.consecutive_errors,
                "tasks": tasks if "tasks" in verdict.detail else (row.tasks if row else []),
                **_gate_fields(gate),
            }
            if row is None:
                GateResult.objects.create(run=locked, snapshot=None, gate_id=gate.id, **values)
            else:
                GateResult.objects.filter(pk=row.pk).update(updated_at=now, **values)
        GateResult.objects.bulk_create(per_snapshot)
        out_of_time = now >= run_deadline(locked)
        decision = evaluation.run_phase(
            gates.gates,
            standings,
            hours_covered=hours,
            planned_hours=locked.planned_hours,
            out_of_time=out_of_time,
        )
        SoakRun.objects.filter(pk=locked.pk).update(
            hours_covered=hours, message=decision.message, updated_at=now
        )
        locked.hours_covered, locked.message = hours, decision.message
        for gate in newly_failed:
            AlertRecord.objects.create(
                run=locked,
                name=f"SoakCriticalGateFailed:{gate.id}",
                severity="page",
                source="sentinel",
                fired_at=now,
                labels={"release": locked.release.name, "gate": gate.id},
                message=standings[gate.id].message,
            )
        if decision.finished:
            _finish(locked, phase=decision.phase, message=decision.message, now=now)
            event = "run_failed" if decision.phase == Phase.FAILED else "run_finished"
            notification_send(
                event=event, run=locked, extra={"failed_gates": [g.id for g in newly_failed]}
            )
        elif newly_failed:
            notification_send(
                event="gate_failed",
                run=locked,
                extra={"failed_gates": [g.id for g in newly_failed]},
            )
        snapshot.run_phase = locked.phase
        snapshot.artifacts = health_artifact_write(
            run=locked, snapshot=snapshot, gates=gates, verdicts=verdicts, probes=probes
        )
        snapshot.save(update_fields=["run_phase", "artifacts", "updated_at"])
    run.refresh_from_db()
    log.info(
        "soak snapshot: %s run #%s %s (%s, %.2f h covered)",
        run.release.name,
        run.pk,
        run.phase,
        "complete" if complete else "incomplete",
        hours,
    )
    return snapshot


def hours_covered(run: SoakRun, *, interval_seconds: float | None = None) -> float:
    """The run's hours covered recomputed from its snapshots (the rule in the module doc)."""
    interval = interval_seconds or settings.SOAK_SNAPSHOT_SECONDS
    previous = run.started_at.timestamp() if run.started_at else None
    total = 0.0
    for taken_at, complete in selectors.snapshot_times(run):
        total += evaluation.coverage(
            previous, taken_at.timestamp(), complete=complete, interval_seconds=interval
        )
        previous = taken_at.timestamp()
    return total


# --------------------------------------------------------------------------- sentinel


def embedded_scrape(run: SoakRun, now: datetime) -> str:
    """The embedded source's sample (``soak.services.scrapes.metric_scrape_take``).

    Called as ``metric_scrape_take(run=run, now=now)`` at every sentinel beat
    when Prometheus is not configured. It stores a failed scrape itself
    (``ok=False``).
    """
    if settings.SOAK_PROMETHEUS_URL:
        return "prometheus"
    try:
        scraped = metric_scrape_take(run=run, now=now)
    except Exception as exc:  # a failed scrape is no data, not a dead sentinel
        log.warning("soak run %s: embedded scrape failed: %s", run.pk, exc)
        return "failed"
    return "failed" if getattr(scraped, "ok", True) is False else "scraped"

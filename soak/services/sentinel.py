"""The sentinel's round: every beat, sample each running soak and snapshot it when due.

Called by the beat task ``soak.sentinel`` (single flight there); the writes
are ``soak.services.runs``'. Kept apart because it is the one piece that
runs on a clock rather than on a request.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from lukhas_site.errors import Conflict, Unprocessable
from soak import load, selectors
from soak.models import SoakRun
from soak.services.runs import embedded_scrape, snapshot_take

log = logging.getLogger(__name__)


def snapshot_due(run: SoakRun, now: datetime) -> bool:
    """Due when the run has no snapshot yet, or its latest is one interval old.

    Half a beat of slack: a beat a little early must not skip a whole interval.
    """
    latest = selectors.latest_snapshot(run)
    if latest is None:
        return True
    slack = settings.SOAK_SAMPLE_SECONDS / 2
    return (now - latest.taken_at).total_seconds() >= settings.SOAK_SNAPSHOT_SECONDS - slack


def sentinel_tick(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """One beat of the sentinel over every active run: sample, and snapshot when due."""
    now = now or timezone.now()
    report = []
    for run in selectors.active_runs():
        entry: dict[str, Any] = {"run": run.pk, "release": run.release.name}
        entry["scrape"] = embedded_scrape(run, now)
        # The load quits by itself when this stops (a stopped worker or beat).
        entry["load_lease"] = load.load_lease_renew(run=run)
        if snapshot_due(run, now):
            try:
                snapshot = snapshot_take(run=run, now=now, by_label="beat", scrape=False)
            except Conflict as exc:
                entry["snapshot"] = f"skipped: {exc.message}"
            except Unprocessable as exc:
                log.error("soak sentinel: %s", exc.message)
                entry["snapshot"] = f"error: {exc.message}"
            else:
                entry["snapshot"] = snapshot.pk
        run.refresh_from_db()
        entry["phase"] = run.phase
        entry["hours_covered"] = round(run.hours_covered, 3)
        report.append(entry)
    return report

"""Coordination gauges: the board's figures read from the database at scrape time.

``lukhas_coordination_tasks{owner,status}`` is every task counted by owner
(agent name, ``(unassigned)``) and status; each owner with a task gets a
series for every status (0 included), so "blocked" or "in review" reads 0,
not "no data". ``lukhas_coordination_blocked_tasks{cause}`` splits what holds
work up: ``status`` (marked blocked) and ``dependency`` (open, waiting for an
open blocker). ``lukhas_coordination_review_queue{reviewer}`` and
``lukhas_coordination_review_oldest_timestamp_seconds{reviewer}`` are the
review queue (a reviewer with no task in review has no series; an unknown
entry time has no timestamp series: unknown stays unknown). Labels are
bounded by the agents a coordinator creates. A database that cannot be read
yields no coordination series (and a log line), never a failed scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from coordination import selectors
from coordination.models import TaskStatus

log = logging.getLogger(__name__)

STATUSES = [status.value for status in TaskStatus]


class CoordinationCollector(Collector):
    """Reads the board figures at every scrape (three aggregate queries)."""

    def describe(self) -> Iterator[Metric]:
        # Registration asks for the names before any query may run (AppConfig.ready).
        yield GaugeMetricFamily("lukhas_coordination_tasks", "", labels=["owner", "status"])
        yield GaugeMetricFamily("lukhas_coordination_blocked_tasks", "", labels=["cause"])
        yield GaugeMetricFamily("lukhas_coordination_review_queue", "", labels=["reviewer"])
        yield GaugeMetricFamily(
            "lukhas_coordination_review_oldest_timestamp_seconds", "", labels=["reviewer"]
        )

    def collect(self) -> Iterator[Metric]:
        tasks = GaugeMetricFamily(
            "lukhas_coordination_tasks",
            "Tasks on the board, by owner and status.",
            labels=["owner", "status"],
        )
        blocked = GaugeMetricFamily(
            "lukhas_coordination_blocked_tasks",
            "Tasks held up: marked blocked (cause=status) or open and waiting for an open "
            "dependency (cause=dependency).",
            labels=["cause"],
        )
        queue = GaugeMetricFamily(
            "lukhas_coordination_review_queue",
            "Tasks in review, by reviewer.",
            labels=["reviewer"],
        )
        oldest = GaugeMetricFamily(
            "lukhas_coordination_review_oldest_timestamp_seconds",
            "Unix time the oldest task in review entered review, by reviewer.",
            labels=["reviewer"],
        )
        try:
            figures = selectors.board_figures()
        except Exception:  # a scrape must not fail on the database
            log.warning("coordination metrics: the database could not be read", exc_info=True)
            return
        owners = sorted({owner for owner, _ in figures.by_owner_status})
        for owner in owners:
            for status in STATUSES:
                tasks.add_metric(
                    [owner, status], float(figures.by_owner_status.get((owner, status), 0))
                )
        blocked.add_metric(["status"], float(figures.blocked_by_status))
        blocked.add_metric(["dependency"], float(figures.waiting_on_dependency))
        for reviewer, (count, entered) in sorted(figures.review_queue.items()):
            queue.add_metric([reviewer], float(count))
            if entered is not None:
                oldest.add_metric([reviewer], entered.timestamp())
        yield tasks
        yield blocked
        yield queue
        yield oldest

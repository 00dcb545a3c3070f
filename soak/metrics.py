"""Soak collectors: the runs' phases and hours read from the database at scrape time.

``lukhas_soak_run_phase{release,phase}`` and
``lukhas_soak_gate_phase{release,gate,phase}`` are Kubernetes-style state
sets: one series per phase, 1 for the current phase and 0 for the others
(``max by (release) (lukhas_soak_run_phase{phase="failed"})`` alerts
simply). ``lukhas_soak_hours_covered{release}`` is the run's hours with data.
Labels are bounded: the releases soaking plus the
``LUKHAS_SOAK_METRICS_RELEASES`` latest, each with its latest run; gate ids
come from the gates file. A database that cannot be read yields no soak
series (and a log line), never a failed scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from soak import selectors
from soak.models import GateResult, Phase

log = logging.getLogger(__name__)

RUN_PHASES = [phase.value for phase in Phase]
GATE_PHASES = [phase.value for phase in Phase if phase != Phase.ABORTED]

NOTIFICATIONS_TOTAL = Counter(
    "lukhas_soak_notifications_total",
    "Soak notifications (signed webhook), by event and outcome (sent, failed, retry, skipped).",
    ["event", "outcome"],
)


class SoakCollector(Collector):
    """Reads the soak figures at every scrape (three queries)."""

    def describe(self) -> Iterator[Metric]:
        # Registering asks for the names: answered without the database
        # (registration happens in AppConfig.ready, before any query may run).
        yield GaugeMetricFamily("lukhas_soak_run_phase", "", labels=["release", "phase"])
        yield GaugeMetricFamily("lukhas_soak_gate_phase", "", labels=["release", "gate", "phase"])
        yield GaugeMetricFamily("lukhas_soak_hours_covered", "", labels=["release"])

    def collect(self) -> Iterator[Metric]:
        run_phase = GaugeMetricFamily(
            "lukhas_soak_run_phase",
            "1 for the soak run's current phase, 0 for the others (latest run per release).",
            labels=["release", "phase"],
        )
        gate_phase = GaugeMetricFamily(
            "lukhas_soak_gate_phase",
            "1 for the gate's current phase over the run, 0 for the others.",
            labels=["release", "gate", "phase"],
        )
        hours = GaugeMetricFamily(
            "lukhas_soak_hours_covered",
            "Hours of the soak with a complete snapshot (hours without data do not count).",
            labels=["release"],
        )
        try:
            releases = selectors.releases_for_metrics(recent=settings.SOAK_METRICS_RELEASES)
            runs = selectors.latest_runs_of(releases)
            gates = list(
                GateResult.objects.filter(run__in=runs.values(), snapshot__isnull=True)
                .order_by("run_id", "gate_id")
                .values_list("run_id", "gate_id", "phase")
            )
        except Exception:  # a scrape must not fail on the database
            log.warning("soak metrics: the database could not be read", exc_info=True)
            return
        names = {run.pk: run.release.name for run in runs.values()}
        for run in runs.values():
            for phase in RUN_PHASES:
                run_phase.add_metric([run.release.name, phase], 1.0 if run.phase == phase else 0.0)
            hours.add_metric([run.release.name], float(run.hours_covered))
        for run_id, gate_id, current in gates:
            for phase in GATE_PHASES:
                gate_phase.add_metric(
                    [names[run_id], gate_id, phase], 1.0 if current == phase else 0.0
                )
        yield run_phase
        yield gate_phase
        yield hours

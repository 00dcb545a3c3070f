"""The soak gauges on /metrics, read from the database at scrape time, labels bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from lukhas_site import metrics as site_metrics
from soak import services
from soak.models import Release, SoakRun

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def samples() -> dict[tuple, float]:
    text = site_metrics.render_latest()[0].decode()
    found = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("lukhas_soak_") and family.name != "lukhas_soak_notifications":
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_it_exports_the_run_and_gate_phases_and_hours(gates_file):
    with time_machine.travel(T0, tick=False):
        run = services.soak_start(release="v0.9.0-rc")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        services.snapshot_take(run=run)
    got = samples()
    running = ("lukhas_soak_run_phase", (("phase", "running"), ("release", "v0.9.0-rc")))
    failed = ("lukhas_soak_run_phase", (("phase", "failed"), ("release", "v0.9.0-rc")))
    assert got[running] == 1.0 and got[failed] == 0.0
    assert sum(v for (name, _), v in got.items() if name == "lukhas_soak_run_phase") == 1.0
    hours = ("lukhas_soak_hours_covered", (("release", "v0.9.0-rc"),))
    assert got[hours] == pytest.approx(1.0)
    gate = (
        "lukhas_soak_gate_phase",
        (("gate", "no-page-alerts"), ("phase", "successful"), ("release", "v0.9.0-rc")),
    )
    assert got[gate] == 1.0
    # soak-hours reads 1 of 48 so far: running (the soak goes on).
    hours_gate = (
        "lukhas_soak_gate_phase",
        (("gate", "soak-hours"), ("phase", "running"), ("release", "v0.9.0-rc")),
    )
    assert got[hours_gate] == 1.0


def test_it_bounds_the_releases_to_the_active_and_the_latest(settings, gates_file):
    settings.SOAK_METRICS_RELEASES = 2
    for n in range(5):
        release = Release.objects.create(name=f"v0.{n}.0-rc", version=f"0.{n}.0")
        SoakRun.objects.create(release=release, phase="successful", started_at=T0)
    services.soak_start(release="v0.0.0-rc-again")
    releases = {
        dict(labels)["release"]
        for (name, labels) in samples()
        if name == "lukhas_soak_hours_covered"
    }
    # The active one plus the 2 latest created (the active one is the newest).
    assert releases == {"v0.0.0-rc-again", "v0.4.0-rc"}


def test_it_exports_nothing_rather_than_failing_when_the_database_is_unreadable(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr("soak.selectors.releases_for_metrics", broken)
    text = site_metrics.render_latest()[0].decode()
    assert "lukhas_soak_run_phase{" not in text
    assert "lukhas_http_requests_total" in text or "# HELP" in text


def test_it_serves_the_soak_gauges_in_multiprocess_mode_too(gates_file, monkeypatch, tmp_path):
    services.soak_start(release="v0.9.0-rc")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert site_metrics.multiprocess_dir() == str(tmp_path)
    got = samples()
    running = ("lukhas_soak_run_phase", (("phase", "running"), ("release", "v0.9.0-rc")))
    assert got[running] == 1.0

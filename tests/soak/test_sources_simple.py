"""The simple gate sources: the run's figures, alerts, coordination tasks, health reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from coordination.models import Task, TaskStatus
from coordination.services import task_transition
from soak import sources
from soak.gates import GateSpec
from soak.models import AlertRecord, Release, SoakRun
from soak.sources.base import MeasureContext, SourceError
from tests.soak import scripted_source
from tests.soak.http_peer import http_peer

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def gate(**fields) -> GateSpec:
    return GateSpec.model_validate(
        {"id": "g", "title": "g", "comparator": "==", "threshold": 0, **fields}
    )


@pytest.fixture
def soak_run() -> SoakRun:
    release = Release.objects.create(name="v0.9.0-rc", version="0.9.0")
    return SoakRun.objects.create(release=release, phase="running", started_at=T0)


def ctx(run: SoakRun, *, now=None, start=None, prometheus="", **figures) -> MeasureContext:
    now = now or T0 + timedelta(hours=5)
    return MeasureContext(
        run_id=run.pk,
        release=run.release.name,
        target_url="http://127.0.0.1:1",
        now=now,
        started_at=T0,
        window_start=start or T0,
        prometheus_url=prometheus,
        run_figures=figures,
    )


# --------------------------------------------------------------------------- dispatcher


def test_it_reads_a_source_kind_without_a_reader_as_an_error(monkeypatch, soak_run):
    monkeypatch.delitem(sources.SOURCES, "probe")
    with pytest.raises(SourceError, match="no source of kind 'probe'"):
        sources.measure(gate(source="probe", probe="facade_smoke"), ctx(soak_run))


def test_it_turns_a_crashing_source_into_an_error(monkeypatch, soak_run):
    monkeypatch.setitem(sources.SOURCES, "soak", scripted_source.measure)
    monkeypatch.setitem(scripted_source.READINGS, "g", "x")
    with pytest.raises(SourceError, match="bad scripted reading"):
        sources.measure(gate(source="soak"), ctx(soak_run))


# --------------------------------------------------------------------------- soak


def test_it_reads_the_runs_figures(soak_run):
    got = sources.measure(gate(source="soak", key="hours_covered"), ctx(soak_run, hours_covered=7))
    assert got.value == 7.0
    missing = sources.measure(gate(source="soak", key="hours_covered"), ctx(soak_run))
    assert missing.value is None


# --------------------------------------------------------------------------- alerts


def test_it_counts_the_runs_page_alerts_in_the_window(soak_run):
    for hours, severity in ((1, "page"), (2, "ticket"), (7, "page")):
        AlertRecord.objects.create(
            run=soak_run, name=f"A{hours}", severity=severity, source="sentinel",
            fired_at=T0 + timedelta(hours=hours),
        )  # fmt: skip
    got = sources.measure(gate(source="alerts"), ctx(soak_run))
    assert got.value == 1.0  # the ticket alert and the one after "now" do not count
    assert [a["name"] for a in got.detail["recorded"]] == ["A1"]
    assert "severity=page" in got.query


def test_it_adds_prometheus_firing_alerts(soak_run):
    vector = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {}, "value": [0, "2"]}
    ]}}  # fmt: skip
    with http_peer(lambda r: (200, vector)) as prom:
        got = sources.measure(gate(source="alerts"), ctx(soak_run, prometheus=prom.url))
    assert got.value == 2.0
    promql = prom.received[0].query["query"][0]
    assert promql == ('count(count_over_time(ALERTS{alertstate="firing",severity="page"}[18000s]))')
    assert promql in got.query


def test_it_reads_no_prometheus_alerts_as_zero_and_prometheus_down_as_error(soak_run):
    empty = {"status": "success", "data": {"resultType": "vector", "result": []}}
    with http_peer(lambda r: (200, empty)) as prom:
        assert sources.measure(gate(source="alerts"), ctx(soak_run, prometheus=prom.url)).value == 0
        url = prom.url
    with pytest.raises(SourceError, match="unreachable"):
        sources.measure(gate(source="alerts"), ctx(soak_run, prometheus=url))


def test_it_reports_a_refused_query_as_error(soak_run):
    refusal = {"status": "error", "errorType": "bad_data", "error": "parse error"}
    with http_peer(lambda r: (400, refusal)) as prom, pytest.raises(SourceError, match="bad_data"):
        sources.measure(gate(source="alerts"), ctx(soak_run, prometheus=prom.url))


# --------------------------------------------------------------------------- coordination


def e402_gate(**extra) -> GateSpec:
    return gate(
        source="coordination", tasks={"text": "E402"}, statuses=["done"],
        comparator=">=", threshold=2, **extra,
    )  # fmt: skip


def test_it_counts_tied_tasks_in_the_statuses(soak_run):
    Task.objects.create(key="E402-1", title="E402 batch 1", status=TaskStatus.DONE)
    Task.objects.create(key="E402-2", title="E402 batch 2", status=TaskStatus.IN_REVIEW)
    Task.objects.create(key="OTHER", title="Unrelated", status=TaskStatus.DONE)
    got = sources.measure(e402_gate(), ctx(soak_run))
    assert got.value == 1.0
    assert got.detail["tasks"] == [
        {"key": "E402-1", "status": "done", "reopened": False},
        {"key": "E402-2", "status": "in_review", "reopened": False},
    ]
    assert "title contains 'E402'" in got.query and "status in done" in got.query


def test_it_fails_a_reopened_task_when_the_gate_says_so(soak_run, alice):
    Task.objects.create(key="E402-1", title="E402 batch 1", status=TaskStatus.DONE)
    two = Task.objects.create(key="E402-2", title="E402 batch 2", status=TaskStatus.IN_REVIEW)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        two = task_transition(task=two, to=TaskStatus.DONE, by=alice)
        two = task_transition(task=two, to=TaskStatus.IN_PROGRESS, by=alice)  # reopened
        task_transition(task=two, to=TaskStatus.DONE, by=alice)
    got = sources.measure(e402_gate(reopened_fails=True), ctx(soak_run))
    assert got.value == 2.0
    assert "E402-2" in got.detail["veto"]
    assert [t["reopened"] for t in got.detail["tasks"]] == [False, True]
    # Without reopened_fails the same tasks pass.
    assert "veto" not in sources.measure(e402_gate(), ctx(soak_run)).detail


def test_it_reads_no_matching_task_as_no_data(soak_run):
    assert sources.measure(e402_gate(), ctx(soak_run)).value is None


# --------------------------------------------------------------------------- health


def write_report(base: Path, date: str | None, hot_path: int) -> None:
    folder = base / "docs/audits/health" / (date or "")
    folder.mkdir(parents=True, exist_ok=True)
    report = {"generated_at": f"{date or 'latest'}", "ruff": {"hot_path": hot_path}}
    (folder / "latest.json").write_text(json.dumps(report))


def health_gate(**extra) -> GateSpec:
    fields = {"key": "ruff.hot_path", **extra}
    return gate(source="health", comparator="<=", threshold=120, **fields)


def test_it_reads_a_dotted_key_of_the_latest_report(soak_run, settings):
    base = Path(settings.SOAK_HEALTH_DIR)
    write_report(base, None, 98)
    got = sources.measure(health_gate(), ctx(soak_run))
    assert got.value == 98.0
    assert got.query.endswith("docs/audits/health/latest.json ruff.hot_path")


def test_it_reads_no_report_as_no_data(soak_run):
    assert sources.measure(health_gate(), ctx(soak_run)).value is None


def test_it_fails_a_rising_trend_with_the_trend_in_detail(soak_run, settings):
    base = Path(settings.SOAK_HEALTH_DIR)
    for date, value in (("2026-03-01", 100), ("2026-03-02", 110), ("2026-03-03", 105)):
        write_report(base, date, value)
    write_report(base, None, 105)
    got = sources.measure(health_gate(trend_reports=3), ctx(soak_run))
    assert got.value == 105.0
    assert [p["value"] for p in got.detail["trend"]] == [100, 110, 105]
    assert "2026-03-01 100 → 2026-03-02 110" in got.detail["veto"]


def test_it_passes_a_falling_trend(soak_run, settings):
    base = Path(settings.SOAK_HEALTH_DIR)
    for date, value in (("2026-03-01", 118), ("2026-03-02", 110), ("2026-03-03", 110)):
        write_report(base, date, value)
    got = sources.measure(health_gate(trend_reports=3), ctx(soak_run))
    assert got.value == 110.0 and "veto" not in got.detail
    assert got.message == "trend 118 → 110 → 110, not rising"


def test_it_reads_too_few_reports_for_a_trend_as_no_data(soak_run, settings):
    write_report(Path(settings.SOAK_HEALTH_DIR), "2026-03-01", 100)
    got = sources.measure(health_gate(trend_reports=3), ctx(soak_run))
    assert got.value is None
    assert "needs 3 dated reports" in got.message


def test_it_reports_a_broken_report_as_error(soak_run, settings):
    folder = Path(settings.SOAK_HEALTH_DIR) / "docs/audits/health"
    folder.mkdir(parents=True)
    (folder / "latest.json").write_text("{not json")
    with pytest.raises(SourceError, match="not JSON"):
        sources.measure(health_gate(), ctx(soak_run))


def test_it_reads_the_audits_report_format(soak_run, settings):
    """lukhas.health-report/1 (docs/audits.md): flat facts, nested metrics, null = unknown."""
    folder = Path(settings.SOAK_HEALTH_DIR) / "docs/audits/health"
    folder.mkdir(parents=True)
    report = {
        "schema": "lukhas.health-report/1",
        "finished_at": "2026-03-02T02:31:00+00:00",
        "git_commit": "d977e9d",
        "facts": {"ruff.hot_paths": 7, "pip_audit.vulnerabilities": None},
        "metrics": {"ruff": {"hot_paths": 7, "hot_path": 7}},
    }
    (folder / "latest.json").write_text(json.dumps(report))
    flat = sources.measure(health_gate(key="ruff.hot_paths"), ctx(soak_run))
    assert flat.value == 7.0 and flat.query.endswith("facts.ruff.hot_paths")
    alias = sources.measure(health_gate(), ctx(soak_run))
    assert alias.value == 7.0 and alias.query.endswith("metrics.ruff.hot_path")
    assert alias.detail["git_commit"] == "d977e9d"
    unknown = sources.measure(health_gate(key="pip_audit.vulnerabilities"), ctx(soak_run))
    assert unknown.value is None  # unavailable, never 0

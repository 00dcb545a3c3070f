"""Recording collector runs and finishing a report in-process: facts, gate, diff, artifacts."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audits import selectors, services, tasks
from audits.models import CollectorRun, Finding, HealthReport
from lukhas_site.errors import NotFound
from tests.audits.conftest import FIXTURE_CONFIG

pytestmark = pytest.mark.django_db

FAST = ("ruff", "compileall", "docs_links", "compat")


@pytest.fixture
def codebase(settings, tmp_path):
    settings.AUDITS_ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.AUDITS_WORK_DIR = tmp_path / "work"
    return services.codebase_ensure(config_file=FIXTURE_CONFIG)


def audit(codebase, collectors=FAST) -> HealthReport:
    report = HealthReport.objects.create(codebase=codebase, started_at=timezone.now())
    for name in collectors:
        services.collector_execute(report_id=report.pk, collector=name)
    return services.report_finish(report_id=report.pk)


def test_it_registers_the_codebase_and_its_nightly_schedule(codebase):
    assert codebase.name == "fixture"
    assert codebase.config_file == "tests/audits/fixture.yaml"
    task = PeriodicTask.objects.get(name="audits-nightly-fixture")
    assert task.task == "audits.nightly_audit"
    assert json.loads(task.kwargs) == {"codebase": "fixture"}
    assert (task.crontab.hour, task.crontab.minute) == ("2", "30")
    # Idempotent: a second registration changes nothing.
    services.codebase_ensure(config_file=FIXTURE_CONFIG)
    assert PeriodicTask.objects.filter(name__startswith="audits-nightly-fixture").count() == 1


def test_it_records_runs_and_findings_once_even_when_a_step_runs_again(codebase):
    report = HealthReport.objects.create(codebase=codebase, started_at=timezone.now())
    services.collector_execute(report_id=report.pk, collector="ruff")
    services.collector_execute(report_id=report.pk, collector="ruff")
    run = CollectorRun.objects.get(report=report)
    assert run.metrics["ruff.production"] == 4
    assert run.tool == "ruff" and run.tool_version and "--output-format json" in run.command
    assert Finding.objects.filter(report=report).count() == 5


def test_it_computes_facts_and_gates_with_unmeasured_metrics_unknown(codebase, settings):
    report = audit(codebase)
    assert report.facts["ruff.production"] == 4
    assert report.facts["smoke.pass_percent"] is None  # smoke did not run here
    assert report.status == "error"  # compileall's syntax warning fails, whatever is unknown
    release = report.gate_verdicts["release"]
    by_metric = {c["metric"]: c for c in release["conditions"]}
    assert by_metric["compileall.syntax_warnings"]["status"] == "error"
    assert by_metric["smoke.pass_percent"]["status"] == "unknown"
    assert by_metric["ruff.production"] == {
        **by_metric["ruff.production"], "actual": 4, "status": "ok", "threshold": 100,
    }  # fmt: skip
    assert report.comparable is None
    root = settings.AUDITS_ARTIFACTS_DIR / "codebases" / "fixture"
    document = json.loads((root / "docs/audits/health/latest.json").read_text())
    assert document["metrics"]["ruff"]["hot_path"] == 2
    assert document["facts"]["ruff.hot_paths"] == 2
    assert document["collectors"]["ruff"]["findings"] == 5
    assert {f["rule"] for f in document["collectors"]["ruff"]["findings_sample"]} == {
        "F401", "E711", "F632", "F841",
    }  # fmt: skip


def test_it_writes_the_default_codebase_at_the_top_of_the_artifacts_dir(codebase, settings):
    settings.AUDITS_DEFAULT_CONFIG = "tests/audits/fixture.yaml"
    report = audit(codebase, collectors=("compat",))
    assert report.artifacts["files"]["latest_json"] == "docs/audits/health/latest.json"
    assert report.artifacts["files"]["system_health_json"] == "docs/audits/system_health.json"
    assert (settings.AUDITS_ARTIFACTS_DIR / "docs/audits/health/latest.json").exists()


def test_it_never_lets_an_older_audit_overwrite_a_newer_report(codebase, settings):
    older = HealthReport.objects.create(codebase=codebase, started_at=timezone.now())
    newer = audit(codebase, collectors=("compat",))
    latest = settings.AUDITS_ARTIFACTS_DIR / newer.artifacts["files"]["latest_json"]
    services.report_finish(report_id=older.pk)
    assert json.loads(latest.read_text())["report_id"] == newer.pk


def test_it_diffs_against_the_previous_report(codebase):
    with time_machine.travel("2026-12-06 02:30Z"):
        first = audit(codebase)
    with time_machine.travel("2026-12-07 02:30Z"):
        second = audit(codebase, collectors=("ruff", "compileall"))
    assert selectors.report_previous(second) == first
    assert second.comparable is True
    diff = selectors.report_diff(second)
    assert diff["previous"] == first.pk
    assert diff["metrics"]["compat.hits"] == {
        "previous": 2, "current": None, "delta": None, "comparable": False, "regression": False,
    }  # fmt: skip
    assert diff["new"] == []
    assert sorted(f.collector for f in diff["fixed"]) == ["compat", "compat", "docs_links"]
    assert list(selectors.latest_reports()) == [second]
    assert [r.pk for r in selectors.report_history(codebase)] == [first.pk, second.pk]


def test_it_flags_a_new_tool_version_instead_of_a_regression(codebase):
    first = audit(codebase, collectors=("ruff",))
    CollectorRun.objects.filter(report=first, collector="ruff").update(tool_version="0.0.1")
    second = audit(codebase, collectors=("ruff",))
    assert second.comparable is False
    assert second.comparability_notes[0].startswith("ruff: tool version changed: 0.0.1 -> ")
    ruff = next(
        c for c in second.gate_verdicts["release"]["conditions"] if c["metric"] == "ruff.production"
    )
    assert ruff["comparable"] is False
    # More ruff issues after a ruff upgrade: shown, not a regression.
    Finding.objects.filter(report=first, collector="ruff").delete()
    HealthReport.objects.filter(pk=first.pk).update(facts={**first.facts, "ruff.production": 1})
    delta = selectors.report_diff(second)["metrics"]["ruff.production"]
    assert delta == {
        "previous": 1, "current": 4, "delta": 3, "comparable": False, "regression": False,
    }  # fmt: skip


def test_it_counts_a_like_for_like_rise_as_a_regression(codebase):
    first = audit(codebase, collectors=("ruff",))
    HealthReport.objects.filter(pk=first.pk).update(facts={**first.facts, "ruff.production": 1})
    second = audit(codebase, collectors=("ruff",))
    assert second.comparable is True
    delta = selectors.report_diff(second)["metrics"]["ruff.production"]
    assert (delta["delta"], delta["comparable"], delta["regression"]) == (3, True, True)


def test_it_reads_the_latest_report_of_every_codebase_in_one_query(
    codebase, django_assert_num_queries
):
    audit(codebase, collectors=())
    latest = audit(codebase, collectors=())
    with django_assert_num_queries(1):
        rows = list(selectors.latest_reports())
        assert [(r.pk, r.codebase.name) for r in rows] == [(latest.pk, "fixture")]


def test_it_refuses_an_unknown_codebase():
    with pytest.raises(NotFound, match="no codebase 'nope'"):
        services.health_audit_start(codebase="nope")


def test_it_starts_the_nightly_audit_as_a_job(codebase):
    # Outside a transaction test the job's first message is never sent (on commit).
    result = tasks.nightly_audit.run(codebase="fixture")
    report = HealthReport.objects.get(pk=result["report"])
    assert report.job.pk == result["job"]
    assert (report.job.kind, report.job.status) == ("health-audit", "queued")
    assert report.job.started_by_label == "beat"
    assert report.job.params == {"report": report.pk, "codebase": "fixture"}
    assert report.job.steps.count() == 14  # 12 collectors, the report, the failure path
    assert report.status == "unknown" and report.finished_at is None


def test_it_exits_2_naming_the_file_and_key_of_a_bad_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npath: .\nquality_gate: q.yaml\nlanes: {production: [a]}\nsmoke: 3\n")
    with pytest.raises(CommandError) as error:
        call_command("health_audit", "--config", str(bad))
    assert error.value.returncode == 2
    assert str(error.value).startswith(f"{bad}: smoke:")
    assert not HealthReport.objects.exists()

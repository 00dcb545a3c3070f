"""The health audit end to end: `manage.py health_audit` starts the flow, a real worker runs
every collector over the fixture codebase, the report and its files come out exact."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audits.models import CollectorRun, HealthReport
from jobs.models import JobStatus, StepStatus
from tests.audits.conftest import FIXTURE_CONFIG

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(
    params=[
        pytest.param("embedded", id="embedded"),
        pytest.param("redis", id="redis", marks=pytest.mark.integration),
    ],
)
def broker(request, settings) -> str:
    """The embedded broker and SQLite in the first pass, Redis and PostgreSQL in the second."""
    if request.param == "embedded" and settings.REDIS_URL:
        pytest.skip("the Redis pass runs the redis variant")
    if request.param == "redis" and not settings.REDIS_URL:
        pytest.skip("the redis variant runs in the integration pass (REDIS_URL)")
    return request.param


@pytest.fixture
def worker(broker, audits_worker, settings):
    settings.AUDITS_ARTIFACTS_DIR = audits_worker.artifacts_dir
    return audits_worker


def test_it_runs_the_audit_as_a_job_through_a_worker(worker, tmp_path, monkeypatch):
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "health_audit", "--config", str(FIXTURE_CONFIG), "--github-summary",
            "--timeout", "240", stdout=out,
        )  # fmt: skip
    # The fixture fails its gate (60 % smoke, a lane violation...): exit 1, not 2.
    assert failed.value.returncode == 1, f"{failed.value}\n{out.getvalue()}\n{worker.output()}"
    report = HealthReport.objects.get()
    job = report.job
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress_done == job.progress_total == 13
    # Every step succeeded; only the failure path ("abandon") never ran.
    steps = dict(job.steps.values_list("name", "status"))
    assert steps.pop("abandon") == StepStatus.PENDING
    assert set(steps.values()) == {StepStatus.SUCCEEDED}
    assert any("smoke: ok" in entry["line"] for entry in job.log)

    assert CollectorRun.objects.filter(report=report).count() == 12
    statuses = dict(CollectorRun.objects.filter(report=report).values_list("collector", "status"))
    assert statuses.pop("pip_audit") == "unavailable"
    assert set(statuses.values()) == {"ok"}
    facts = report.facts
    assert (facts["smoke.passed"], facts["smoke.failed"], facts["smoke.total"]) == (3, 1, 5)
    assert (facts["ruff.production"], facts["ruff.labs"], facts["ruff.hot_paths"]) == (4, 1, 2)
    assert facts["lane_guard.violations"] == 1
    assert facts["pip_audit.vulnerabilities"] is None
    assert report.status == "error"
    assert report.gate_verdicts["release"]["failed"] == [
        "smoke.pass_percent", "lane_guard.violations", "compileall.syntax_warnings", "secrets.new",
    ]  # fmt: skip
    assert report.gate_verdicts["release"]["unknown"] == ["pip_audit.vulnerabilities"]

    # Not the default codebase: its files go under codebases/<name>/.
    base = Path(worker.artifacts_dir) / "codebases" / "fixture"
    assert report.artifacts["files"]["latest_json"] == (
        "codebases/fixture/docs/audits/health/latest.json"
    )
    canonical = base / "docs/audits/health/latest.json"
    assert canonical.read_bytes() == (base / "docs/audits/system_health.json").read_bytes()
    dated = base / f"docs/audits/health/{report.started_at.date().isoformat()}/latest.json"
    assert dated.read_bytes() == canonical.read_bytes()
    assert json.loads(canonical.read_text())["report_id"] == report.pk
    assert (base / "docs/audits/health/sbom.cdx.json").exists()

    printed = out.getvalue()
    assert f"health report {report.pk} of fixture" in printed
    assert "gate: ERROR" in printed and "/audits/" in printed
    assert str(canonical) in printed
    text = summary.read_text()
    assert text.index("| ruff issues, production lanes | 4 |") < text.index("<details>")

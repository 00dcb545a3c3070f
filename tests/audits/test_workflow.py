"""The sample health-audit workflow validates against GitHub's workflow schema (the copy
check-jsonschema vendors), and it runs what the docs say it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings

WORKFLOW = Path(settings.BASE_DIR) / ".github/workflows/health-audit.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_validates_against_the_github_workflow_schema():
    proc = validate(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def test_it_fails_validation_when_the_file_is_wrong(tmp_path):
    """The validator can fail: a job without runs-on and a step with an unknown key."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["health-audit"]
    del job["runs-on"]
    job["steps"][0]["usess"] = job["steps"][0].pop("uses")
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(workflow))
    proc = validate(broken)
    assert proc.returncode == 1
    assert "Schema validation errors were encountered" in proc.stdout + proc.stderr


def test_it_runs_the_audit_with_the_step_summary_and_comments_the_diff():
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["health-audit"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert 'make health-audit HEALTH_AUDIT_ARGS="--github-summary"' in runs
    comment = next(run for run in runs if "--pr-comment" in run)
    assert 'gh pr comment "$PR" --body-file var/ci/openapi-comment.md' in comment

"""rc_soak_start, rc_soak_snapshot, soak_status: what they print, and their refusals."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from soak.models import Phase, SoakRun

pytestmark = pytest.mark.django_db


def run_command(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_starts_a_soak_and_prints_the_page(gates_file, settings):
    settings.JOBS_BASE_URL = "http://ops.example:8000"
    out = run_command("rc_soak_start", "v0.9.0-rc", "--hours", "72", "--git-ref", "abc123")
    run = SoakRun.objects.get()
    assert (run.planned_hours, run.release.git_ref, run.phase) == (72, "abc123", Phase.RUNNING)
    assert f"Started soak #{run.pk} of v0.9.0-rc (GA 0.9.0) for 72 h against this site" in out
    assert "gates version t1" in out and "no synthetic load running" in out
    assert out.rstrip().endswith("Open http://ops.example:8000/soak/")


def test_it_refuses_a_second_soak_with_a_clear_message(gates_file):
    run_command("rc_soak_start", "v0.9.0-rc")
    with pytest.raises(CommandError, match=r"a soak is already running: v0\.9\.0-rc"):
        run_command("rc_soak_start", "v0.9.1-rc")


def test_it_takes_a_snapshot_and_prints_the_gates(gates_file):
    run_command("rc_soak_start", "v0.9.0-rc")
    out = run_command("rc_soak_snapshot")
    assert "Took snapshot #" in out and "(complete)" in out
    assert "no-page-alerts" in out and "successful" in out
    assert "artifact docs/audits/health/" in out and "sha256 " in out
    assert out.rstrip().endswith("/soak/")


def test_it_refuses_a_snapshot_without_a_running_soak(gates_file):
    with pytest.raises(CommandError, match="no soak is running"):
        run_command("rc_soak_snapshot")
    with pytest.raises(CommandError, match="no release named 'v9'"):
        run_command("rc_soak_snapshot", "v9")


def test_it_prints_the_status_as_text_and_json(gates_file):
    assert "No soak yet" in run_command("soak_status")
    run_command("rc_soak_start", "v0.9.0-rc", "--hours", "48")
    run_command("rc_soak_snapshot", "v0.9.0-rc")
    text = run_command("soak_status", "v0.9.0-rc")
    assert text.startswith("v0.9.0-rc soak #")
    # Every gate not successful says why, under its line.
    assert "soak-hours: 0, not yet >= 48 (query run #" in text
    status = json.loads(run_command("soak_status", "--json"))
    assert status["release"] == "v0.9.0-rc" and status["phase"] == "running"
    gates = {g["id"]: g for g in status["gates"]}
    assert gates["no-page-alerts"]["counts"]["successful"] == 1
    assert gates["no-page-alerts"]["comparator"] == "=="
    assert status["url"].endswith("/soak/")


BAD_FILES = [
    (
        'version: "1"\ngates:\n  - id: a\n    title: [unclosed\n',
        r"gates\.yaml line \d+: not valid YAML",
    ),
    (
        'version: "1"\ngates:\n  - id: a\n    title: A\n    source: soak\n    comparator: ">="\n'
        "    threshold: 1\n    colour: red\n",
        r"gate a\.colour: Extra inputs are not permitted",
    ),
    (
        'version: "1"\ngates:\n  - id: a\n    title: A\n    source: soak\n    comparator: ">="\n',
        r"gate a\.threshold: Field required",
    ),
    (
        'version: "1"\ngates:\n  - id: a\n    title: A\n    source: health\n    comparator: ">="\n'
        "    threshold: 1\n",
        r"a health gate needs key",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_it_refuses_a_bad_gates_file_with_a_clear_message(gates_file, text, message):
    gates_file(text)
    with pytest.raises(CommandError, match=message):
        run_command("rc_soak_start", "v0.9.0-rc")
    assert not SoakRun.objects.exists()


def test_it_names_the_line_of_a_yaml_error(gates_file):
    gates_file('version: "1"\ngates:\n  - id: a\n    title: [unclosed\n')
    with pytest.raises(CommandError) as caught:
        run_command("rc_soak_start", "v0.9.0-rc")
    assert "line 5" in str(caught.value)

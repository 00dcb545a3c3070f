"""The soft-audit inventory: the parser on documents of several styles, the CSV, the
tasks (re-import changes nothing), the gh commands and the errors with line numbers."""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audits.soft_audit import (
    CSV_COLUMNS,
    SoftAuditError,
    gh_issue_commands,
    owner_rules,
    parse_soft_audit,
)
from coordination.models import Agent, Priority, Task, TaskEvent

SAMPLES = Path(__file__).parent / "samples"


def parse(name: str, **owners: str):
    return parse_soft_audit((SAMPLES / name).read_text(), owner_rules(owners))


def rows(findings):
    return [(f.severity, f.area, f.file_hint, f.summary) for f in findings]


class TestParser:
    def test_it_reads_a_findings_table_and_skips_other_tables(self):
        findings = parse("soft_audit_table.md")
        assert [f.id for f in findings] == ["SA-1", "SA-2", "SA-3"]
        assert rows(findings) == [
            ("high", "Security", "lukhas_site/settings.py:41", "DEBUG defaults to true"),
            ("medium", "API", "matriz/api.py:10", "Errors leak stack traces | sometimes"),
            ("low", "Docs", "", "README settings table is stale"),
        ]
        assert findings[0].details == "default to false"
        assert [f.line for f in findings] == [13, 14, 15]

    def test_it_reads_bullets_with_markers_and_area_headings(self):
        findings = parse("soft_audit_bullets.md")
        assert rows(findings) == [
            (
                "high",
                "Security",
                "guardian/middleware.py:88",
                "Secrets in logs when the request fails",
            ),
            (
                "critical",
                "Security",
                "guardian/keys.py:20",
                "API keys compared with == instead of a constant-time compare",
            ),
            ("medium", "Security", "", "rate limit bypass with a trailing slash"),
            (
                "low",
                "Performance",
                "coordination/views.py:200",
                "the board page runs one query per task",
            ),
            ("unknown", "Performance", "soak/selectors.py", "N+1 on the soak snapshot list"),
        ]
        assert findings[0].suggested_owner == "Jules"
        assert findings[0].details == "the redaction filter runs after the exception handler"

    def test_it_reads_headings_that_are_findings_and_severity_headings(self):
        findings = parse("soft_audit_headings.md")
        assert rows(findings) == [
            ("high", "Observability", "matriz/tasks.py:51", "Missing spans on the dream job"),
            ("medium", "Metrics", "lukhas_site/metrics.py:30", "Metrics labels use raw paths"),
            ("high", "", "", "Coverage of the labs lane is 0 % (labs/)"),
        ]
        assert findings[0].suggested_owner == "Codex"
        assert findings[1].details == "Unbounded cardinality."

    def test_it_gives_stable_ids_that_survive_edits_elsewhere(self):
        text = (SAMPLES / "soft_audit_bullets.md").read_text()
        first = parse_soft_audit(text)
        edited = parse_soft_audit("# New title\n\nAn intro paragraph.\n\n" + text)
        assert [f.id for f in first] == [f.id for f in edited]
        assert len({f.id for f in first}) == len(first)
        assert all(f.id.startswith("SA-") for f in first)

    def test_it_suggests_owners_by_file_glob_or_area(self):
        findings = parse("soft_audit_table.md", **{"matriz/*": "Codex", "Docs": "Copilot"})
        assert [f.suggested_owner for f in findings] == ["", "Codex", "Copilot"]

    @pytest.mark.parametrize(
        ("name", "line", "message"),
        [
            ("soft_audit_bad_severity.md", 6, "'urgentish' is not a severity"),
            ("soft_audit_ragged.md", 6, "has 2 cells, its header has 3"),
        ],
    )
    def test_it_refuses_bad_input_with_the_line(self, name, line, message):
        with pytest.raises(SoftAuditError) as caught:
            parse(name)
        assert caught.value.line == line
        assert message in caught.value.message

    def test_it_refuses_duplicate_ids_and_documents_without_findings(self):
        table = "| ID | Severity | Finding |\n|---|---|---|\n"
        table += "| SA-1 | high | a |\n| SA-1 | low | b |\n"
        with pytest.raises(SoftAuditError, match="line 4: the finding id SA-1 is used already"):
            parse_soft_audit(table)
        with pytest.raises(SoftAuditError, match="line 1: no findings"):
            parse_soft_audit("# Audit\n\nAll good.\n\n- nothing to report\n")

    def test_it_ignores_fenced_code(self):
        text = "## API\n\n```\n- [HIGH] not a finding (a.py:1)\n```\n- [low] real one\n"
        assert rows(parse_soft_audit(text)) == [("low", "API", "", "real one")]


def test_it_quotes_the_gh_commands():
    findings = parse_soft_audit('- [HIGH] It\'s `$(rm -rf /)` in a.py:3; "quoted"\n')
    script = gh_issue_commands(findings, source="x.md", repo="org/repo", labels=["soft-audit"])
    argv = shlex.split(script.split("set -e\n", 1)[1])  # one command, its body over lines
    assert argv[:5] == ["gh", "issue", "create", "--repo", "org/repo"]
    title = argv[argv.index("--title") + 1]
    assert title == f'[{findings[0].id}] It\'s `$(rm -rf /)` in a.py:3; "quoted"'
    assert argv[-4:] == ["--label", "soft-audit", "--label", "severity:high"]
    assert "- File: a.py:3" in argv[argv.index("--body") + 1]


@pytest.mark.django_db
class TestCommand:
    def test_it_writes_the_csv_with_its_columns(self, tmp_path, capsys):
        out = tmp_path / "tasks.csv"
        call_command(
            "soft_audit_inventory", str(SAMPLES / "soft_audit_table.md"), "--out", str(out)
        )
        with out.open(newline="") as stream:
            reader = csv.DictReader(stream)
            assert tuple(reader.fieldnames) == CSV_COLUMNS
            records = list(reader)
        assert [r["id"] for r in records] == ["SA-1", "SA-2", "SA-3"]
        assert records[1]["summary"] == "Errors leak stack traces | sometimes"
        assert records[0]["file_hint"] == "lukhas_site/settings.py:41"
        assert "3 findings (1 high, 1 medium, 1 low)" in capsys.readouterr().out
        assert not Task.objects.exists()

    def test_it_creates_tasks_once_and_links_them_to_the_finding(self, tmp_path):
        Agent.objects.create(name="Jules")
        sample = str(SAMPLES / "soft_audit_bullets.md")
        args = ("soft_audit_inventory", sample, "--out", str(tmp_path / "a.csv"), "--tasks")
        call_command(*args)
        findings = parse("soft_audit_bullets.md")
        tasks = {task.key: task for task in Task.objects.all()}
        assert sorted(tasks) == sorted(f.id for f in findings)
        first = tasks[findings[0].id]
        assert first.title == "Secrets in logs when the request fails"
        assert first.priority == Priority.HIGH
        assert first.owner.name == "Jules"
        assert first.files == ["guardian/middleware.py"]
        assert first.source_line == 10
        assert (
            f"Soft-audit finding {findings[0].id} from soft_audit_bullets.md, line 10"
            in first.notes
        )
        unknown = tasks[findings[-1].id]
        assert (
            unknown.priority is None and "Severity: unknown" in unknown.notes
        )  # unknown, not "medium"
        before = (
            list(Task.objects.order_by("key").values()),
            TaskEvent.objects.count(),
            Agent.objects.count(),
        )
        first.title = "edited by a person"
        first.save()
        call_command(*args)
        after = list(Task.objects.order_by("key").values())
        assert [t["key"] for t in after] == [t["key"] for t in before[0]]
        assert Task.objects.get(key=findings[0].id).title == "edited by a person"
        assert (TaskEvent.objects.count(), Agent.objects.count()) == before[1:]

    def test_it_writes_gh_commands_without_running_them(self, tmp_path):
        gh = tmp_path / "issues.sh"
        call_command(
            "soft_audit_inventory",
            str(SAMPLES / "soft_audit_headings.md"),
            "--out",
            str(tmp_path / "a.csv"),
            "--gh",
            str(gh),
        )
        # Run the script with a stand-in gh that records its argv: the quoting is the shell's.
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "gh"
        fake.write_text(
            f"#!{sys.executable}\nimport json, sys\n"
            f"open({str(tmp_path / 'argv.jsonl')!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        )
        fake.chmod(0o755)
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        subprocess.run(["sh", str(gh)], check=True, env=env, timeout=30)
        calls = [json.loads(line) for line in (tmp_path / "argv.jsonl").read_text().splitlines()]
        findings = parse("soft_audit_headings.md")
        assert [call[:2] for call in calls] == [["issue", "create"]] * 3
        assert [call[call.index("--title") + 1] for call in calls] == [
            f"[{f.id}] {f.summary}" for f in findings
        ]
        body = calls[0][calls[0].index("--body") + 1]
        assert (
            body.splitlines()[-1] == "The dream task starts no span, so its latency is invisible."
        )

    @pytest.mark.parametrize(
        ("name", "line"), [("soft_audit_bad_severity.md", 6), ("soft_audit_ragged.md", 6)]
    )
    def test_it_exits_non_zero_with_the_line_and_writes_nothing(self, tmp_path, name, line):
        out = tmp_path / "a.csv"
        with pytest.raises(CommandError) as caught:
            call_command("soft_audit_inventory", str(SAMPLES / name), "--out", str(out), "--tasks")
        assert caught.value.returncode == 1
        assert f"{name}:{line}:" in str(caught.value)
        assert not out.exists() and not Task.objects.exists()

    def test_it_names_the_line_of_bytes_that_are_not_utf8(self, tmp_path):
        bad = tmp_path / "bad.md"
        bad.write_bytes(b"# Audit\n\n- [high] caf\xe9\n")
        with pytest.raises(CommandError, match=r"bad.md:3: not UTF-8"):
            call_command("soft_audit_inventory", str(bad), "--out", str(tmp_path / "a.csv"))

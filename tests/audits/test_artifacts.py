"""The report's files: canonical and back-compat agree, dated copy, badge, GitHub step summary."""

from __future__ import annotations

import json

from audits.artifacts import (
    STEP_SUMMARY_LIMIT,
    append_step_summary,
    badge,
    nested_metrics,
    render_markdown,
    step_summary,
    write_artifacts,
)


def document(status="error", **extra):
    condition = {
        "metric": "smoke.pass_percent", "description": "smoke tests passing (%)",
        "comparator": ">", "threshold": 90, "actual": 60.0, "status": "error",
        "baseline": 71.4, "comparable": True,
    }  # fmt: skip
    gate = {
        "name": "release", "status": status, "failed": ["smoke.pass_percent"],
        "unknown": [], "conditions": [condition],
    }  # fmt: skip
    smoke = {
        "status": "ok", "tool": "pytest", "tool_version": "9", "commands": ["pytest"],
        "duration_seconds": 1.5, "exit_code": 1, "error": "", "facts": {}, "findings": 1,
    }  # fmt: skip
    return {
        "schema": "lukhas.health-report/1",
        "report_id": 7,
        "codebase": "fixture",
        "started_at": "2026-12-07T02:30:00+00:00",
        "status": status,
        "main_gate": "release",
        "gate_file_version": "t1",
        "comparable": None,
        "comparability_notes": [],
        "facts": {
            "smoke.pass_percent": 60.0,
            "ruff.hot_paths": 2,
            "pip_audit.vulnerabilities": None,
        },
        "gates": {"release": gate},
        "tracking": [],
        "collectors": {"smoke": smoke},
        **extra,
    }


def test_it_writes_canonical_and_back_compat_files_with_the_same_content(tmp_path):
    sbom = tmp_path / "sbom.json"
    sbom.write_text('{"bomFormat": "CycloneDX"}')
    paths = write_artifacts(document(), tmp_path / "out", day="2026-12-07", sbom=str(sbom))
    out = tmp_path / "out"
    assert paths["latest_json"] == "docs/audits/health/latest.json"
    assert paths["system_health_json"] == "docs/audits/system_health.json"
    canonical = (out / paths["latest_json"]).read_bytes()
    assert canonical == (out / paths["system_health_json"]).read_bytes()
    assert canonical == (out / "docs/audits/health/2026-12-07/latest.json").read_bytes()
    markdown = (out / paths["latest_md"]).read_bytes()
    assert markdown == (out / paths["system_health_md"]).read_bytes()
    assert json.loads(canonical)["report_id"] == 7
    assert (out / "docs/audits/health/sbom.cdx.json").read_text() == sbom.read_text()


def test_it_makes_a_shields_endpoint_badge_with_only_the_known_keys(tmp_path):
    assert badge(document()) == {
        "schemaVersion": 1, "label": "health", "message": "failed (1)", "color": "red",
    }  # fmt: skip
    assert badge(document("ok"))["message"] == "passed"
    assert badge(document("unknown"))["color"] == "lightgrey"
    write_artifacts(document(), tmp_path, day="2026-12-07")
    written = json.loads((tmp_path / "docs/audits/health/badge.json").read_text())
    assert set(written) == {"schemaVersion", "label", "message", "color"}


def test_it_nests_metrics_so_dotted_keys_resolve_and_keeps_the_soak_alias():
    nested = nested_metrics({"ruff.hot_paths": 2, "smoke.pass_percent": 60.0})
    assert nested == {"ruff": {"hot_paths": 2, "hot_path": 2}, "smoke": {"pass_percent": 60.0}}


def test_it_puts_the_badge_and_key_numbers_before_the_details():
    summary = step_summary(document())
    head, _, rest = summary.partition("<details>")
    assert "![health](https://img.shields.io/badge/health-failed%20(1)-red)" in head
    assert "| smoke tests passing (%) | 60 |" in head
    assert "| vulnerabilities | unknown |" in head
    assert "`smoke.pass_percent`" in head
    assert "## Collectors" in rest and rest.rstrip().endswith("</details>")


def test_it_keeps_the_step_summary_under_one_mebibyte(tmp_path):
    huge = document()
    huge["collectors"]["smoke"]["facts"] = {"x": "y" * 3000}
    huge["collectors"].update({f"c{i}": dict(huge["collectors"]["smoke"]) for i in range(400)})
    assert len(render_markdown(huge).encode()) > 1024 * 1024
    summary_file = tmp_path / "summary.md"
    summary_file.write_text("earlier step\n")
    written = append_step_summary(huge, summary_file)
    assert written <= STEP_SUMMARY_LIMIT < 1024 * 1024
    text = summary_file.read_text()
    assert text.startswith("earlier step\n## Health audit")
    assert text.rstrip().endswith("</details>")


def test_it_says_unknown_for_values_it_could_not_measure():
    markdown = render_markdown(document())
    assert "| vulnerabilities | unknown |" in markdown
    assert "| vulnerabilities | 0 |" not in markdown


def test_it_lists_the_findings_behind_a_number():
    doc = document()
    doc["collectors"]["smoke"]["findings_sample"] = [
        {"rule": "checks/check_core.py::test_x", "file": "checks/check_core.py", "line": None,
         "message": "assert 1 == 2"},
    ]  # fmt: skip
    markdown = render_markdown(doc)
    assert "Findings (1; the first 1):" in markdown
    assert "- `checks/check_core.py::test_x` checks/check_core.py assert 1 == 2" in markdown

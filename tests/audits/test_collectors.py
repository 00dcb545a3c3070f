"""Every collector over the fixture codebase (tests/audits/fixture_codebase): exact counts.

The fixture holds, on purpose: 4 ruff violations in the production lane
(F401 x2, E711, F632; 2 of them in the hot path fixprod/core/) and 1 in labs
(F841); one production -> labs import; 3 passing, 1 failing and 1 skipped
test; one broken docs link of 3 relative ones; one secret in the baseline and
one new; one SyntaxWarning; two hits of the legacy import path; an OpenAPI
spec that removed one operation of its baseline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audits.collectors import run_collector
from audits.collectors.base import bounded
from audits.collectors.static import importlinter_config, parse_lint_imports
from audits.collectors.supply import licence_allowed
from tests.audits.conftest import FIXTURE, fixture_workspace


def by_rule(result):
    return sorted((f.rule, f.file, f.line) for f in result.findings)


class TestFixtureCounts:
    def test_it_counts_smoke_tests_and_names_the_failing_one(self, fixture_results):
        smoke = fixture_results["smoke"]
        assert smoke.status == "ok", smoke.error
        assert smoke.metrics == {
            "smoke.passed": 3,
            "smoke.failed": 1,
            "smoke.skipped": 1,
            "smoke.total": 5,
            "smoke.pass_percent": 60.0,
        }
        assert [f.rule for f in smoke.findings] == ["checks/check_core.py::test_this_one_fails"]
        assert smoke.tool == "pytest" and smoke.tool_version
        assert "--junitxml=" in smoke.commands[0] and smoke.exit_code == 1

    def test_it_counts_ruff_by_rule_lane_and_hot_path(self, fixture_results):
        ruff = fixture_results["ruff"]
        assert ruff.status == "ok", ruff.error
        assert ruff.metrics == {
            "ruff.total": 5,
            "ruff.production": 4,
            "ruff.labs": 1,
            "ruff.hot_paths": 2,
        }
        assert ruff.facts["by_rule"] == {"F401": 2, "E711": 1, "F632": 1, "F841": 1}
        assert by_rule(ruff) == [
            ("E711", "fixprod/core/engine.py", 7),
            ("F401", "fixprod/core/engine.py", 1),
            ("F401", "fixprod/util.py", 2),
            ("F632", "fixprod/warn.py", 2),
            ("F841", "fixlabs/experimental.py", 2),
        ]

    def test_it_reports_the_syntax_warning_with_file_and_line(self, fixture_results):
        compileall = fixture_results["compileall"]
        assert compileall.metrics["compileall.syntax_warnings"] == 1
        assert by_rule(compileall) == [("SyntaxWarning", "fixprod/warn.py", 2)]

    def test_it_measures_coverage_overall_and_per_lane(self, fixture_results):
        coverage = fixture_results["coverage"]
        assert coverage.status == "ok", coverage.error
        lanes = coverage.facts["lanes"]
        # fixprod: 19 statements, 14 run by the checks (warn.py, settings.py and
        # util.also_old never run); fixlabs: experimental.py's 3 run, creds.py's 1 not.
        assert (lanes["production"]["covered"], lanes["production"]["statements"]) == (14, 19)
        assert (lanes["labs"]["covered"], lanes["labs"]["statements"]) == (3, 4)
        assert coverage.metrics["coverage.percent"] == round(100 * 17 / 23, 1)
        # Per lane package too (the lanes page's coverage criterion reads it).
        packages = coverage.facts["packages"]
        assert packages["fixprod"] == {"covered": 14, "statements": 19, "percent": 73.7}
        assert packages["fixlabs"] == {"covered": 3, "statements": 4, "percent": 75.0}

    def test_it_finds_the_production_to_labs_import_with_its_chain(self, fixture_results):
        guard = fixture_results["lane_guard"]
        assert guard.status == "ok", guard.error
        assert guard.metrics == {"lane_guard.violations": 1}
        (finding,) = guard.findings
        assert finding.message == "fixprod.core.engine -> fixlabs.experimental"
        assert (finding.file, finding.line) == ("fixprod/core/engine.py", 3)

    def test_it_says_unavailable_not_zero_when_pip_audit_cannot_reach_its_data(
        self, fixture_results
    ):
        audit = fixture_results["pip_audit"]
        assert audit.status == "unavailable"
        assert audit.metrics == {
            "pip_audit.vulnerabilities": None,
            "pip_audit.vulnerable_packages": None,
        }
        assert "could not be reached" in audit.error

    def test_it_finds_the_new_secret_only(self, fixture_results):
        secrets = fixture_results["secrets"]
        assert secrets.status == "ok", secrets.error
        assert secrets.metrics == {"secrets.new": 1, "secrets.baselined": 1}
        assert by_rule(secrets) == [("Secret Keyword", "fixlabs/creds.py", 1)]
        # The finding carries the hash, never the secret itself.
        assert "new-unreviewed" not in json.dumps([vars(f) for f in secrets.findings])

    def test_it_finds_the_broken_docs_link(self, fixture_results):
        links = fixture_results["docs_links"]
        assert links.metrics == {"docs_links.broken": 1, "docs_links.checked": 3}
        assert by_rule(links) == [("broken-link", "README.md", 5)]

    def test_it_validates_the_spec_and_diffs_it_against_the_baseline(self, fixture_results):
        openapi = fixture_results["openapi"]
        assert openapi.status == "ok", openapi.error
        assert openapi.metrics == {
            "openapi.valid": 1,
            "openapi.breaking": 1,
            "openapi.added": 0,
            "openapi.removed": 1,
        }
        assert [f.message for f in openapi.findings] == ["DELETE /items/{id} removed"]

    def test_it_counts_compat_hits(self, fixture_results):
        compat = fixture_results["compat"]
        assert compat.metrics == {"compat.hits": 2}
        assert by_rule(compat) == [
            ("legacy_api", "fixprod/util.py", 4),
            ("legacy_api", "fixprod/util.py", 12),
        ]

    def test_it_builds_a_cyclonedx_sbom(self, fixture_results):
        sbom = fixture_results["sbom"]
        assert sbom.status == "ok", sbom.error
        bom = json.loads(Path(sbom.artifacts["sbom"]).read_text())
        assert bom["bomFormat"] == "CycloneDX"
        assert [c["name"] for c in bom["components"]] == ["requests"]

    def test_it_checks_licences_against_the_policy(self, fixture_results):
        licences = fixture_results["licences"]
        assert licences.status == "ok", licences.error
        assert licences.metrics["licences.packages"] > 10
        assert licences.metrics["licences.violations"] == len(licences.findings)
        assert "Django" not in {f.details["package"] for f in licences.findings}

    def test_it_records_tool_version_command_and_duration(self, fixture_results):
        for name, result in fixture_results.items():
            assert result.commands, name
            assert result.tool, name
            assert result.duration >= 0, name

    def test_it_leaves_no_cache_in_the_audited_checkout(self, fixture_results):
        names = {p.name for p in FIXTURE.rglob("*")}
        assert not names & {"__pycache__", ".ruff_cache", ".pytest_cache", ".coverage"}


def test_it_fails_a_smoke_run_that_exceeds_its_time_limit(tmp_path):
    workspace = fixture_workspace(tmp_path)
    slow = workspace.config.smoke.model_copy(update={"timeout": 0.01})
    result = run_collector("smoke", fixture_workspace(tmp_path, smoke=slow))
    assert result.status == "failed"
    assert result.metrics["smoke.pass_percent"] is None
    assert "time limit" in result.error


def test_it_is_unavailable_when_a_tool_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr("audits.collectors.base.Workspace.tool", lambda self, name: None)
    result = run_collector("ruff", fixture_workspace(tmp_path))
    assert result.status == "unavailable"
    assert set(result.metrics.values()) == {None}


def test_it_generates_the_lane_contract_from_the_lanes(tmp_path):
    text = importlinter_config(fixture_workspace(tmp_path).config)
    assert 'source_modules = ["fixprod"]' in text
    assert 'forbidden_modules = ["fixlabs"]' in text


def test_it_parses_indirect_import_chains():
    report = """
a is not allowed to import z:

-   a.one -> b.two (l.3)
    b.two -> z.three (l.7, l.9)

-   a.four -> z.five (l.1)
"""
    chains = parse_lint_imports(report)
    assert [len(c["chain"]) for c in chains] == [2, 1]
    assert chains[0]["chain"][1] == {"importer": "b.two", "imported": "z.three", "lines": "7, l.9"}


@pytest.mark.parametrize(
    ("licence", "allowed"),
    [
        ("MIT", True),
        ("Apache-2.0 OR GPL-3.0-only", True),
        ("MIT AND GPL-3.0-only", False),
        ("Apache Software License; MIT License", True),
        ("GPL-3.0-only", False),
        ("UNKNOWN", False),
        ("MIT License\n\nCopyright (c) someone", True),
    ],
)
def test_it_judges_licence_expressions(licence, allowed):
    assert licence_allowed(licence, {"mit", "mit license", "apache-2.0"}) is allowed


def test_it_keeps_head_and_tail_of_long_output():
    text, cut = bounded("a" * 100 + "b" * 100, 50)
    assert cut and text.startswith("a" * 25) and text.endswith("b" * 25)
    assert bounded("short", 50) == ("short", False)

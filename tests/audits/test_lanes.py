"""Lanes: the production-lane contracts run by the real import-linter, the promotion
criteria per module (unknown stays unknown) and the generated page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from audits.lanes import (
    FAIL,
    PASS,
    UNKNOWN,
    cross_lane_imports,
    importlinter_config,
    lanes_readme,
    load_lanes,
    promotion_evaluate,
)

BASE = Path(settings.BASE_DIR)
FIXTURE = BASE / "tests/audits/fixture.yaml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(config: str, cwd: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    ini = tmp_path / "lane-guard.ini"
    ini.write_text(config)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(ini)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_breaks_the_contract_on_a_production_to_labs_import(tmp_path):
    lanes = load_lanes(FIXTURE, BASE)
    proc = lint(importlinter_config(lanes), lanes.path, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Production lanes never import the labs lane BROKEN" in proc.stdout
    assert "fixprod.core.engine -> fixlabs.experimental" in proc.stdout


def test_it_keeps_the_contract_of_this_project(tmp_path):
    lanes = load_lanes(BASE / "configs/audits/lukhas.yaml", BASE)
    proc = lint(importlinter_config(lanes), BASE, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 1 kept, 0 broken." in proc.stdout


def test_it_finds_the_cross_lane_import_with_its_chain():
    lanes = load_lanes(FIXTURE, BASE)
    assert cross_lane_imports(lanes) == {
        "fixprod": [("fixprod.core.engine", "fixlabs.experimental")]
    }


def statuses(promotion):
    return {c.name: c.status for c in promotion.criteria}


def test_it_evaluates_each_criterion_and_keeps_unknown_unknown():
    lanes = load_lanes(FIXTURE, BASE)
    (nothing,) = promotion_evaluate(lanes)
    assert statuses(nothing) == {
        "coverage": UNKNOWN,
        "spans": FAIL,
        "metrics": FAIL,
        "p95": UNKNOWN,
        "cross-lane imports": UNKNOWN,
        "rollback flag": UNKNOWN,
    }
    assert nothing.status == FAIL
    (measured,) = promotion_evaluate(
        lanes,
        coverage_by_module={"fixprod": 91.5},
        p95_ms={"fixprod": 80.0},
        p95_budget_ms={"fixprod": 100.0},
        cross_lane={"fixprod": []},
        settings_text="| `LUKHAS_FIXPROD_ENABLED` | on | the rollback switch |",
    )
    assert statuses(measured) | {"spans": PASS, "metrics": PASS} == dict.fromkeys(
        statuses(measured), PASS
    )
    (low,) = promotion_evaluate(
        lanes, coverage_by_module={"fixprod": 89.9}, p95_ms={"fixprod": 120.0}
    )
    assert statuses(low)["coverage"] == FAIL
    assert statuses(low)["p95"] == UNKNOWN  # a measurement without a budget is not a verdict


def test_it_passes_spans_and_metrics_found_in_the_source():
    lanes = load_lanes(BASE / "configs/audits/lukhas.yaml", BASE)
    by_module = {p.module: statuses(p) for p in promotion_evaluate(lanes)}
    assert by_module["matriz"]["spans"] == PASS  # matriz/engine/orchestrator.py
    assert by_module["guardian"]["metrics"] == PASS  # guardian/metrics.py
    assert by_module["coordination"]["metrics"] == PASS  # coordination/metrics.py
    # A module with neither is a FAIL: the fixture's fixprod, above.


def test_it_renders_the_lanes_page():
    lanes = load_lanes(FIXTURE, BASE)
    page = lanes_readme(lanes, promotion_evaluate(lanes, cross_lane=cross_lane_imports(lanes)))
    assert "| labs (development) | `fixlabs/` | excluded from the strict checks" in page
    assert "[importlinter:contract:production-lanes-no-labs]" in page
    row = next(line for line in page.splitlines() if line.startswith("| `fixprod` |"))
    assert "❌ fail: 1 (first: fixprod.core.engine → fixlabs.experimental)" in row
    assert "❔ unknown: no per-module coverage measured" in row


@pytest.mark.django_db
def test_it_writes_the_readme_from_the_command(tmp_path):
    target = tmp_path / "README_LANES.md"
    call_command("lanes", "--config", str(FIXTURE), "--readme", str(target))
    assert target.read_text().startswith("# Lanes of fixture\n")


@pytest.mark.django_db
def test_the_committed_lanes_page_is_current(tmp_path):
    """docs/README_LANES.md is generated: run `make lanes-readme` after a lanes change."""
    fresh = tmp_path / "README_LANES.md"
    call_command("lanes", "--readme", str(fresh))
    assert (BASE / "docs/README_LANES.md").read_text() == fresh.read_text()

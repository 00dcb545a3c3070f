"""Collectors that run the codebase's tests: the smoke selection (junit XML) and coverage.

Both run pytest in the codebase's interpreter as a subprocess; nothing of the
audited code is imported here. The smoke pass rate is passed / total with
skipped tests counted in the total, as the plans count it (65/91 = 71.4 %).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

from audits.collectors.base import (
    FAILED,
    OK,
    CollectorResult,
    FindingData,
    Workspace,
    dist_version,
    run_failure,
    run_tool,
)

SMOKE_METRICS = (
    "smoke.passed",
    "smoke.failed",
    "smoke.skipped",
    "smoke.total",
    "smoke.pass_percent",
)
COVERAGE_METRICS = ("coverage.percent", "coverage.production_percent", "coverage.labs_percent")


def _python(workspace: Workspace) -> str:
    return workspace.config.python or workspace.python


def parse_junit(path: Path) -> dict:
    """Counts and failing ids from a junit XML (pytest's, one or more testsuites)."""
    root = ElementTree.parse(path).getroot()  # noqa: S314 - our own subprocess wrote it
    passed = failed = skipped = 0
    failing: list[dict] = []
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        module = classname.replace(".", "/")
        test_id = f"{module}.py::{name}" if classname else name
        outcome = next(
            (child for child in case if child.tag in {"failure", "error", "skipped"}), None
        )
        if outcome is None:
            passed += 1
        elif outcome.tag == "skipped":
            skipped += 1
        else:
            failed += 1
            failing.append(
                {
                    "id": test_id,
                    "kind": outcome.tag,
                    # The first line: the rest holds object addresses that change per run.
                    "message": (outcome.get("message") or "").splitlines()[0][:300]
                    if outcome.get("message")
                    else "",
                    "file": f"{module}.py" if classname else "",
                }
            )
    total = passed + failed + skipped
    return {
        "passed": passed,
        "failed": failed,
        "skipped": skipped,
        "total": total,
        "pass_percent": round(100.0 * passed / total, 1) if total else None,
        "failing": failing,
    }


def collect_smoke(workspace: Workspace) -> CollectorResult:
    """Run the smoke selection with a junit XML; failing tests become findings."""
    config = workspace.config.smoke
    result = CollectorResult("smoke", OK, tool="pytest", tool_version=dist_version("pytest"))
    if config is None:
        return result.give_up(FAILED, "no `smoke` section in the lanes config", SMOKE_METRICS)
    junit = workspace.workdir / "smoke-junit.xml"
    junit.unlink(missing_ok=True)
    argv = [_python(workspace), "-m", "pytest", *config.paths, *config.args]
    argv += [f"--junitxml={junit}", "-p", "no:cacheprovider"]
    run = result.record(run_tool(workspace, argv, timeout=config.timeout), workspace)
    if failure := run_failure(run, "pytest"):
        return result.give_up(*failure, SMOKE_METRICS)
    # Exit 0 all passed, 1 some failed; 2-5 mean pytest itself could not run
    # the selection (interrupted, internal error, usage, nothing collected).
    if run.exit_code not in (0, 1) or not junit.exists():
        return result.give_up(
            FAILED, f"pytest exited {run.exit_code} without a test report", SMOKE_METRICS
        )
    counts = parse_junit(junit)
    result.facts = counts
    result.metrics = {f"smoke.{k}": v for k, v in counts.items() if k != "failing"}
    for failing in counts["failing"]:
        result.findings.append(
            FindingData(
                "smoke",
                failing["id"],
                failing["message"] or failing["kind"],
                file=failing["file"],
                severity="high",
                lane=workspace.config.lane_of(failing["file"]),
                key=failing["id"],
            )
        )
    return result


def lane_coverage(files: dict, workspace: Workspace) -> dict[str, dict]:
    """Covered and total statements per lane from coverage.py's JSON `files` section."""
    lanes: dict[str, dict] = {}
    for path, data in files.items():
        lane = workspace.config.lane_of(workspace.relative(path)) or "other"
        summary = data.get("summary", {})
        entry = lanes.setdefault(lane, {"covered": 0, "statements": 0})
        entry["covered"] += summary.get("covered_lines", 0)
        entry["statements"] += summary.get("num_statements", 0)
    for entry in lanes.values():
        entry["percent"] = (
            round(100.0 * entry["covered"] / entry["statements"], 1)
            if entry["statements"]
            else None
        )
    return lanes


def package_coverage(files: dict, workspace: Workspace) -> dict[str, dict]:
    """Covered and total statements per configured lane package (the lanes page's criterion)."""
    packages = workspace.config.lanes.production + workspace.config.lanes.labs
    totals = {name: {"covered": 0, "statements": 0} for name in packages}
    for path, data in files.items():
        relative = str(workspace.relative(path))
        # The longest package prefix wins (matriz.engine before matriz).
        for name in sorted(packages, key=len, reverse=True):
            folder = name.replace(".", "/")
            if relative == f"{folder}.py" or relative.startswith(f"{folder}/"):
                summary = data.get("summary", {})
                totals[name]["covered"] += summary.get("covered_lines", 0)
                totals[name]["statements"] += summary.get("num_statements", 0)
                break
    for entry in totals.values():
        entry["percent"] = (
            round(100.0 * entry["covered"] / entry["statements"], 1)
            if entry["statements"]
            else None
        )
    return totals


def collect_coverage(workspace: Workspace) -> CollectorResult:
    """`coverage run -m pytest …` over the lanes' packages, then `coverage json`."""
    config = workspace.config.coverage
    result = CollectorResult("coverage", OK, tool="coverage", tool_version=dist_version("coverage"))
    if config is None:
        return result.give_up(FAILED, "no `coverage` section in the lanes config", COVERAGE_METRICS)
    data_file = workspace.workdir / "coverage.data"
    report = workspace.workdir / "coverage.json"
    report.unlink(missing_ok=True)
    packages = ",".join(workspace.config.lanes.production + workspace.config.lanes.labs)
    python = _python(workspace)
    run = result.record(
        run_tool(
            workspace,
            [
                *(python, "-m", "coverage", "run", f"--data-file={data_file}"),
                *(f"--source={packages}", "-m", "pytest", *config.paths, *config.args),
                *("-p", "no:cacheprovider"),
            ],
            timeout=config.timeout,
        ),
        workspace,
    )
    if failure := run_failure(run, "coverage"):
        return result.give_up(*failure, COVERAGE_METRICS)
    if run.exit_code not in (0, 1):
        return result.give_up(
            FAILED, f"the covered test run exited {run.exit_code}", COVERAGE_METRICS
        )
    run = result.record(
        run_tool(
            workspace,
            [python, "-m", "coverage", "json", f"--data-file={data_file}", "-o", str(report)],
            timeout=120,
        ),
        workspace,
    )
    if run.exit_code != 0 or not report.exists():
        return result.give_up(FAILED, f"coverage json exited {run.exit_code}", COVERAGE_METRICS)
    data = json.loads(report.read_text())
    lanes = lane_coverage(data.get("files", {}), workspace)
    totals = data.get("totals", {})
    percent = totals.get("percent_covered")
    result.facts = {
        "percent": round(percent, 1) if percent is not None else None,
        "covered": totals.get("covered_lines"),
        "statements": totals.get("num_statements"),
        "lanes": lanes,
        "packages": package_coverage(data.get("files", {}), workspace),
        "tests_exit_code": result.exit_code,
    }
    result.metrics = {
        "coverage.percent": result.facts["percent"],
        "coverage.production_percent": lanes.get("production", {}).get("percent"),
        "coverage.labs_percent": lanes.get("labs", {}).get("percent"),
    }
    return result

"""The OpenAPI collector: the spec validates (openapi-spec-validator) and its diff to the baseline.

Validation runs the validator as a subprocess. The diff is our
``lukhas_site.openapi_diff`` (pure Python over two JSON documents, the same
rules as ``make openapi-diff``), so it runs in the worker: it reads data
files, it imports nothing of the audited code. The full diff (added,
removed, changed with breaking flags) is kept in the facts for the PR
comment body.
"""

from __future__ import annotations

import time

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
from lukhas_site.openapi_diff import SpecError, diff_specs, load_spec

OPENAPI_METRICS = ("openapi.valid", "openapi.breaking", "openapi.added", "openapi.removed")


def collect_openapi(workspace: Workspace) -> CollectorResult:
    config = workspace.config.openapi
    result = CollectorResult(
        "openapi",
        OK,
        tool="openapi-spec-validator",
        tool_version=dist_version("openapi-spec-validator"),
    )
    if config is None:
        return result.give_up(FAILED, "no `openapi` section in the lanes config", OPENAPI_METRICS)
    validator = workspace.tool("openapi-spec-validator")
    if validator is None:
        return result.give_up(
            "unavailable", "openapi-spec-validator is not installed", OPENAPI_METRICS
        )
    spec = workspace.checkout / config.spec
    run = result.record(
        run_tool(workspace, [validator, str(spec)], timeout=config.timeout), workspace
    )
    if failure := run_failure(run, "openapi-spec-validator"):
        return result.give_up(*failure, OPENAPI_METRICS)
    valid = run.exit_code == 0
    if not valid:
        result.findings.append(
            FindingData(
                "openapi",
                "invalid-spec",
                (run.stdout + run.stderr).strip().splitlines()[-1][:300]
                if (run.stdout + run.stderr).strip()
                else "the spec does not validate",
                file=config.spec,
                severity="high",
            )
        )
    result.facts = {"valid": valid, "spec": config.spec, "baseline": config.baseline}
    result.metrics = {"openapi.valid": int(valid)}
    if not config.baseline:
        result.metrics |= {"openapi.breaking": None, "openapi.added": None, "openapi.removed": None}
        return result
    started = time.monotonic()
    try:
        diff = diff_specs(
            load_spec(str(workspace.checkout / config.baseline)), load_spec(str(spec))
        )
    except SpecError as exc:
        result.facts["diff_error"] = str(exc)
        result.metrics |= {"openapi.breaking": None, "openapi.added": None, "openapi.removed": None}
        return result
    result.commands.append(f"(in-process) lukhas_site.openapi_diff {config.baseline} {config.spec}")
    result.duration += time.monotonic() - started
    diff_dict = diff.to_dict()
    result.facts["diff"] = diff_dict
    for operation in diff_dict["removed"]:
        result.findings.append(
            FindingData(
                "openapi",
                "operation-removed",
                f"{operation.get('method', '').upper()} {operation.get('path', '')} removed",
                file=config.spec,
                severity="high",
                details=operation,
            )
        )
    for changed in diff_dict["changed"]:
        for change in changed["changes"]:
            if change.get("breaking"):
                result.findings.append(
                    FindingData(
                        "openapi",
                        "breaking-change",
                        f"{changed.get('method', '').upper()} {changed.get('path', '')}: "
                        f"{change.get('message') or change.get('kind') or change}",
                        file=config.spec,
                        severity="high",
                        details=change,
                    )
                )
    result.metrics |= {
        "openapi.breaking": diff.breaking_count,
        "openapi.added": len(diff.added),
        "openapi.removed": len(diff.removed),
    }
    return result

"""The health-audit flow: one step per collector in parallel groups, then the report.

Each collector step runs its tool in a subprocess (``audits.collectors``)
and records a CollectorRun; the job's progress bar counts the steps. The
groups keep the two heavy test runs (smoke, coverage) apart so a two-core
worker is not asked to run both at once. The last step computes the quality
gate and writes the artifacts; the failure path marks the report abandoned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audits import services
from jobs.flows import Flow, Parallel, Step, register
from jobs.services import StepContext

STAGES: tuple[tuple[str, ...], ...] = (
    ("smoke", "ruff", "compileall", "lane_guard", "docs_links", "compat"),
    ("coverage", "secrets", "openapi"),
    ("pip_audit", "licences", "sbom"),
)


def _collector_step(collector: str) -> Callable[[StepContext], dict[str, Any]]:
    def run(ctx: StepContext) -> dict[str, Any]:
        ctx.log(f"{collector}: running")
        outcome = services.collector_execute(report_id=ctx.params["report"], collector=collector)
        ctx.log(f"{collector}: {outcome['status']} {outcome.get('error') or ''}".strip())
        return outcome

    run.__name__ = f"collect_{collector}"
    return run


def build_report(ctx: StepContext) -> dict[str, Any]:
    report = services.report_finish(report_id=ctx.params["report"])
    ctx.log(f"report {report.pk}: gate {report.status}")
    return {"report": report.pk, "status": report.status, "files": report.artifacts.get("files")}


def abandon_report(ctx: StepContext) -> None:
    services.report_abandon(report_id=ctx.params["report"], error=ctx.job.error)


register(
    Flow(
        services.HEALTH_AUDIT_FLOW,
        description="A codebase's health audit: every collector, then the quality gate",
        steps=[
            *(
                Parallel(*(Step(name.replace("_", "-"), _collector_step(name)) for name in stage))
                for stage in STAGES
            ),
            Step("report", build_report),
        ],
        on_failure=Step("abandon", abandon_report),
        module=__name__,
    )
)

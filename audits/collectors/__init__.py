"""The collectors of a health audit, by name, and the one way to run one.

Each collector is a function ``Workspace -> CollectorResult`` (``base``):
``testsuite`` (smoke, coverage), ``static`` (ruff, compileall, lane guard, docs
links, compat), ``supply`` (pip-audit, licences, SBOM, secrets) and
``openapi``. ``run_collector`` turns an exception of ours into an ``error``
result with every metric unknown, so one broken collector never hides the
others. docs/audits.md says what each measures.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from audits.collectors import openapi, static, supply, testsuite
from audits.collectors.base import (
    ERROR,
    FAILED,
    OK,
    UNAVAILABLE,
    CollectorResult,
    FindingData,
    Workspace,
)

__all__ = [
    "COLLECTORS",
    "ERROR",
    "FAILED",
    "METRICS",
    "OK",
    "UNAVAILABLE",
    "CollectorResult",
    "FindingData",
    "Workspace",
    "run_collector",
]

COLLECTORS: dict[str, Callable[[Workspace], CollectorResult]] = {
    "smoke": testsuite.collect_smoke,
    "ruff": static.collect_ruff,
    "compileall": static.collect_compileall,
    "coverage": testsuite.collect_coverage,
    "lane_guard": static.collect_lane_guard,
    "pip_audit": supply.collect_pip_audit,
    "licences": supply.collect_licences,
    "sbom": supply.collect_sbom,
    "secrets": supply.collect_secrets,
    "docs_links": static.collect_docs_links,
    "openapi": openapi.collect_openapi,
    "compat": static.collect_compat,
}

# The flat metric names each collector reports (the quality gate's vocabulary).
METRICS: dict[str, tuple[str, ...]] = {
    "smoke": testsuite.SMOKE_METRICS,
    "ruff": static.RUFF_METRICS,
    "compileall": static.COMPILEALL_METRICS,
    "coverage": testsuite.COVERAGE_METRICS,
    "lane_guard": static.LANE_GUARD_METRICS,
    "pip_audit": supply.PIP_AUDIT_METRICS,
    "licences": supply.LICENCES_METRICS,
    "sbom": supply.SBOM_METRICS,
    "secrets": supply.SECRETS_METRICS,
    "docs_links": static.DOCS_LINKS_METRICS,
    "openapi": openapi.OPENAPI_METRICS,
    "compat": static.COMPAT_METRICS,
}


def run_collector(name: str, workspace: Workspace) -> CollectorResult:
    """Run one collector; a bug of ours becomes an `error` result, every metric unknown."""
    try:
        return COLLECTORS[name](workspace)
    except Exception as exc:  # one collector's bug must not stop the audit
        result = CollectorResult(name, ERROR)
        result.raw_output = traceback.format_exc()[-8000:]
        return result.give_up(ERROR, f"{type(exc).__name__}: {exc}", METRICS.get(name, ()))

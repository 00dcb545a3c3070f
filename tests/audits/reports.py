"""Health reports for the page, admin and API tests, written as the audit would leave them
(the audit itself is tested by the audits-core tests with a real worker)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.contrib.auth.models import Permission
from django.utils import timezone

from audits.models import Codebase, CollectorRun, Finding, HealthReport
from audits.services import codebase_ensure

FIXTURE_CONFIG = "tests/audits/fixture.yaml"


def fixture_codebase() -> Codebase:
    return codebase_ensure(config_file=FIXTURE_CONFIG, schedule=False)


def grant_run(user) -> None:
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="audits", codename="add_healthreport")
    )
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)


def make_report(
    codebase: Codebase,
    *,
    status: str = "ok",
    facts: dict | None = None,
    started_at: datetime | None = None,
    ruff: list[tuple[str, str, str, int]] = (),
) -> HealthReport:
    """A finished report with a ruff run holding ``ruff`` findings (rule, lane, file, line)."""
    started = started_at or timezone.now()
    report = HealthReport.objects.create(
        codebase=codebase,
        started_at=started,
        finished_at=started + timedelta(minutes=2),
        status=status,
        facts=facts or {},
        gate_verdicts={
            "default": {
                "name": "default",
                "status": status,
                "conditions": [
                    {
                        "metric": "ruff.production",
                        "comparator": "<",
                        "threshold": 100,
                        "actual": (facts or {}).get("ruff.production"),
                        "status": status,
                        "comparable": True,
                    }
                ],
            }
        },
    )
    by_rule: dict[str, int] = {}
    by_lane: dict[str, int] = {}
    for rule, lane, *_ in ruff:
        by_rule[rule] = by_rule.get(rule, 0) + 1
        by_lane[lane] = by_lane.get(lane, 0) + 1
    run = CollectorRun.objects.create(
        report=report,
        collector="ruff",
        tool="ruff",
        tool_version="0.9.0",
        command="ruff check --output-format json .",
        duration_seconds=1.5,
        exit_code=1 if ruff else 0,
        status="ok",
        facts={"total": len(ruff), "by_rule": by_rule, "by_lane": by_lane},
    )
    CollectorRun.objects.create(
        report=report, collector="pip_audit", tool="pip-audit", status="unavailable", facts={}
    )
    for rule, lane, file, line in ruff:
        Finding.objects.create(
            report=report,
            collector_run=run,
            collector="ruff",
            rule=rule,
            lane=lane,
            file=file,
            line=line,
            message=f"{rule} in {file}",
            fingerprint=hashlib.sha256(f"ruff{rule}{file}".encode()).hexdigest(),
        )
    return report

"""Reads of the audits app: codebases, the latest report of each, history, diffs, the document.

``report_document`` is the one shape of a report outside the database: the
artifacts (latest.json, the Markdown, the step summary) and the pages render
it; its schema is in docs/audits.md.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery

from audits.artifacts import SCHEMA, nested_metrics
from audits.models import Codebase, CollectorRun, Finding, HealthReport
from lukhas_site.errors import NotFound

# Findings of each collector listed in the report document (the page has them all).
FINDINGS_SAMPLE = 20


def codebase_get(name: str) -> Codebase:
    codebase = Codebase.objects.filter(name=name).first()
    if codebase is None:
        known = ", ".join(Codebase.objects.values_list("name", flat=True)) or "none yet"
        raise NotFound(f"no codebase {name!r} (known: {known})")
    return codebase


def codebases() -> QuerySet[Codebase]:
    return Codebase.objects.order_by("name")


def report_get(report_id: int) -> HealthReport:
    report = HealthReport.objects.select_related("codebase", "job").filter(pk=report_id).first()
    if report is None:
        raise NotFound(f"no health report {report_id}")
    return report


def finished_reports(codebase: Codebase | None = None) -> QuerySet[HealthReport]:
    reports = HealthReport.objects.filter(finished_at__isnull=False).select_related("codebase")
    return reports.filter(codebase=codebase) if codebase is not None else reports


def latest_reports() -> QuerySet[HealthReport]:
    """The latest finished report of each codebase, by codebase name (the overview)."""
    return (
        HealthReport.objects.select_related("codebase")
        .filter(pk__in=_latest_ids())
        .order_by("codebase__name")
    )


def _latest_ids() -> QuerySet:
    newest = (
        HealthReport.objects.filter(codebase=OuterRef("pk"), finished_at__isnull=False)
        .order_by("-started_at", "-pk")
        .values("pk")[:1]
    )
    return (
        Codebase.objects.annotate(latest=Subquery(newest))
        .filter(latest__isnull=False)
        .values("latest")
    )


def latest_report(codebase: Codebase) -> HealthReport | None:
    return finished_reports(codebase).order_by("-started_at", "-pk").first()


def report_history(codebase: Codebase, *, limit: int = 30) -> list[HealthReport]:
    """The last `limit` finished reports, oldest first (trend charts)."""
    rows = list(
        finished_reports(codebase)
        .order_by("-started_at", "-pk")
        .only("pk", "codebase", "started_at", "finished_at", "status", "facts", "comparable")[
            :limit
        ]
    )
    return rows[::-1]


def report_previous(report: HealthReport) -> HealthReport | None:
    """The finished report of the same codebase just before this one."""
    return (
        finished_reports(report.codebase)
        .exclude(pk=report.pk)
        .filter(started_at__lte=report.started_at)
        .order_by("-started_at", "-pk")
        .first()
    )


def collector_runs(report: HealthReport) -> QuerySet[CollectorRun]:
    return CollectorRun.objects.filter(report=report).annotate(finding_count=Count("findings"))


def findings(report: HealthReport, *, collector: str = "") -> QuerySet[Finding]:
    rows = Finding.objects.filter(report=report)
    return rows.filter(collector=collector) if collector else rows


def _identities(report: HealthReport) -> dict[str, tuple[str, str]]:
    rows = CollectorRun.objects.filter(report=report).values_list(
        "collector", "tool_version", "ruleset"
    )
    return {collector: (version, ruleset) for collector, version, ruleset in rows}


def _higher_is_better(report: HealthReport) -> dict[str, bool]:
    """From the gate's comparators: `> 90` wants more, `< 100` or `== 0` want less."""
    better: dict[str, bool] = {}
    for gate in (report.gate_verdicts or {}).values():
        for condition in gate.get("conditions", []):
            better.setdefault(condition["metric"], condition["comparator"] in {">", ">="})
    return better


def report_diff(report: HealthReport, previous: HealthReport | None = None) -> dict[str, Any]:
    """Metric deltas and new / fixed findings (by fingerprint) against the previous report.

    A delta is a ``regression`` only when it goes the wrong way for a gated
    metric *and* is like for like: a collector whose tool version or rule set
    changed, or a changed config, gives ``comparable: false`` and no regression.
    """
    previous = previous if previous is not None else report_previous(report)
    if previous is None:
        return {"previous": None, "metrics": {}, "new": [], "fixed": [], "comparable": None}
    now_ids, before_ids = _identities(report), _identities(previous)
    same_config = report.config_checksum == previous.config_checksum
    better = _higher_is_better(report)
    metrics: dict[str, dict[str, Any]] = {}
    for key in sorted(set(report.facts) | set(previous.facts)):
        now, before = report.facts.get(key), previous.facts.get(key)
        if now == before:
            continue
        numeric = isinstance(now, int | float) and isinstance(before, int | float)
        delta = round(now - before, 3) if numeric else None
        collector = key.split(".", 1)[0]
        comparable = same_config and now_ids.get(collector) == before_ids.get(collector)
        worse = delta is not None and key in better and (delta < 0 if better[key] else delta > 0)
        metrics[key] = {
            "previous": before,
            "current": now,
            "delta": delta,
            "comparable": comparable,
            "regression": bool(worse and comparable),
        }
    now_fp = set(findings(report).values_list("fingerprint", flat=True))
    before_fp = set(findings(previous).values_list("fingerprint", flat=True))
    return {
        "previous": previous.pk,
        "comparable": report.comparable,
        "notes": report.comparability_notes,
        "metrics": metrics,
        "new": list(findings(report).filter(fingerprint__in=now_fp - before_fp)),
        "fixed": list(findings(previous).filter(fingerprint__in=before_fp - now_fp)),
    }


def report_document(report: HealthReport) -> dict[str, Any]:
    """The report as the JSON document of latest.json (docs/audits.md, "latest.json")."""
    runs = collector_runs(report).order_by("collector")
    gates = report.gate_verdicts or {}
    samples: dict[str, list[dict[str, Any]]] = {}
    for finding in findings(report).only("collector", "rule", "file", "line", "message"):
        sample = samples.setdefault(finding.collector, [])
        if len(sample) < FINDINGS_SAMPLE:
            sample.append(
                {
                    "rule": finding.rule,
                    "file": finding.file,
                    "line": finding.line,
                    "message": finding.message[:200],
                }
            )
    return {
        "schema": SCHEMA,
        "report_id": report.pk,
        "codebase": report.codebase.name,
        "started_at": report.started_at.isoformat() if report.started_at else None,
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "git_commit": report.git_commit,
        "status": report.status,
        "main_gate": next(iter(gates), ""),
        "gate_file_version": report.gate_file_version,
        "config_checksum": report.config_checksum,
        "comparable": report.comparable,
        "comparability_notes": report.comparability_notes,
        "facts": report.facts,
        "metrics": nested_metrics(report.facts),
        "gates": gates,
        "tracking": (report.artifacts or {}).get("tracking", []),
        "collectors": {
            run.collector: {
                "status": run.status,
                "tool": run.tool,
                "tool_version": run.tool_version,
                "commands": run.command.splitlines(),
                "duration_seconds": round(run.duration_seconds, 2)
                if run.duration_seconds is not None
                else None,
                "exit_code": run.exit_code,
                "error": run.error,
                "metrics": run.metrics,
                "facts": run.facts,
                "findings": run.finding_count,
                "findings_sample": samples.get(run.collector, []),
            }
            for run in runs
        },
        "url": "/audits/",
    }

"""The day's health artifact of a soak: ``docs/audits/health/<date>/latest.{json,md}``.

Written under ``LUKHAS_SOAK_ARTIFACTS_DIR`` at every snapshot (the day's file
is rewritten by the day's later snapshots), with real values only: what
could not be read is null in the JSON and "unknown" in the Markdown, never
"TBD". The figures come from the snapshot's gate measurements, plus whether
Prometheus, Grafana and the façade answer. Each file's sha256 is returned for
the Snapshot's ``artifacts``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings

from guardian.models import Denial
from soak import evaluation
from soak.gates import GateSet
from soak.models import Snapshot, SoakRun

log = logging.getLogger(__name__)

SCHEMA = "lukhas.soak.health/1"
PROBE_TIMEOUT_SECONDS = 3.0
# The gates whose measurements the artifact names (as the GA checklist does).
DENIAL_SLI = "guardian_denial_ratio"
PDP_SLI = "pdp_fast_ratio"


def _up(url: str) -> bool | None:
    """True/False when ``url`` answers 2xx or not; None when nothing is configured."""
    if not url:
        return None
    try:
        return httpx.get(url, timeout=PROBE_TIMEOUT_SECONDS).is_success
    except httpx.HTTPError:
        return False


def _gate_by(gates: GateSet, **match: Any) -> str | None:
    for gate in gates.gates:
        if all(getattr(gate, key) == value for key, value in match.items()):
            return gate.id
    return None


def artifact_probes(*, run: SoakRun) -> dict[str, bool | None]:
    """Whether Prometheus, Grafana and the target answer (None: not configured).

    Done before the snapshot takes the run's row lock: each may take seconds.
    """
    target = (run.target_url or settings.SOAK_SELF_URL).rstrip("/")
    prometheus = settings.SOAK_PROMETHEUS_URL
    grafana = settings.SOAK_GRAFANA_URL
    return {
        "prometheus_up": _up(f"{prometheus}/-/ready" if prometheus else ""),
        "grafana_up": _up(f"{grafana}/api/health" if grafana else ""),
        "facade_up": _up(f"{target}/healthz"),
    }


def health_figures(
    *,
    run: SoakRun,
    now: datetime,
    gates: GateSet,
    verdicts: dict[str, evaluation.Verdict],
    probes: dict[str, bool | None] | None = None,
) -> dict[str, Any]:
    """The artifact's headline figures; None wherever there is no reading."""

    def value(gate_id: str | None) -> float | None:
        verdict = verdicts.get(gate_id) if gate_id else None
        return verdict.value if verdict and verdict.has_data else None

    def detail(gate_id: str | None) -> dict[str, Any]:
        verdict = verdicts.get(gate_id) if gate_id else None
        return verdict.detail if verdict else {}

    probes = probes if probes is not None else artifact_probes(run=run)
    smoke_value = value(_gate_by(gates, source="probe", probe="facade_smoke"))
    pdp_gate = _gate_by(gates, source="metrics", sli=PDP_SLI)
    pdp_ratio = value(pdp_gate)
    # Guardian's denial audit holds this site's denials only (sampled as
    # Guardian samples them): unknown when the soak targets another site.
    denials = None
    if not run.target_url:
        denials = Denial.objects.filter(
            created_at__gt=now - timedelta(hours=24), created_at__lte=now
        ).count()
    return {
        "prometheus_up": probes["prometheus_up"],
        "grafana_up": probes["grafana_up"],
        "facade_smoke_passed": None if smoke_value is None else smoke_value >= 1,
        "facade_up": probes["facade_up"],
        "guardian_denials_24h": denials,
        "guardian_denial_ratio": value(_gate_by(gates, source="metrics", sli=DENIAL_SLI)),
        "pdp_fast_ratio": pdp_ratio,
        "pdp_p95_under_10ms": None if pdp_ratio is None else pdp_ratio >= 0.95,
        "pdp_p95_seconds": detail(pdp_gate).get("p95_seconds"),
    }


def _shown(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def health_report(
    *,
    run: SoakRun,
    snapshot: Snapshot,
    gates: GateSet,
    verdicts: dict[str, evaluation.Verdict],
    probes: dict[str, bool | None] | None = None,
) -> dict[str, Any]:
    """The JSON document of the day's artifact."""
    return {
        "schema": SCHEMA,
        "generated_at": snapshot.taken_at.isoformat(),
        "date": snapshot.taken_at.date().isoformat(),
        "release": run.release.name,
        "run": run.pk,
        "snapshot": snapshot.pk,
        "run_phase": run.phase,
        "run_message": run.message,
        "hours_covered": round(run.hours_covered, 4),
        "planned_hours": run.planned_hours,
        "snapshot_complete": snapshot.complete,
        "gates_version": gates.version,
        "gates_checksum": gates.checksum,
        "figures": health_figures(
            run=run, now=snapshot.taken_at, gates=gates, verdicts=verdicts, probes=probes
        ),
        "gates": [
            {
                "id": gate.id,
                "title": gate.title,
                "source": gate.source,
                "severity": gate.severity,
                "advisory": gate.advisory,
                "comparator": gate.comparator,
                "threshold": gate.threshold,
                "window": gate.window,
                "value": verdicts[gate.id].value,
                "phase": verdicts[gate.id].phase,
                "query": verdicts[gate.id].query,
                "message": verdicts[gate.id].message,
            }
            for gate in gates.gates
            if gate.id in verdicts
        ],
        "load": snapshot.load_results,
    }


def health_markdown(report: dict[str, Any]) -> str:
    figures = report["figures"]
    lines = [
        f"# Soak health — {report['release']} — {report['date']}",
        "",
        f"Run #{report['run']}, snapshot #{report['snapshot']} at {report['generated_at']}: "
        f"**{report['run_phase']}**, {report['hours_covered']:.2f} of "
        f"{report['planned_hours']} planned hours covered "
        f"({'complete' if report['snapshot_complete'] else 'incomplete'} snapshot).",
        "",
        f"Gates file version {report['gates_version']} (sha256 `{report['gates_checksum']}`).",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {_shown(value)} |" for name, value in figures.items()]
    lines += [
        "",
        "| gate | phase | actual | comparator | threshold | window | query |",
        "|---|---|---|---|---|---|---|",
    ]
    for gate in report["gates"]:
        query = (gate["query"] or "").replace("|", "\\|")
        lines.append(
            f"| {gate['id']}{' (advisory)' if gate['advisory'] else ''} | {gate['phase']} | "
            f"{_shown(gate['value'])} | {gate['comparator']} | {gate['threshold']:g} | "
            f"{gate['window']} | `{query}` |"
        )
    lines += ["", "## Why", ""]
    lines += [f"- {gate['message']}" for gate in report["gates"]]
    return "\n".join(lines) + "\n"


def health_artifact_write(
    *,
    run: SoakRun,
    snapshot: Snapshot,
    gates: GateSet,
    verdicts: dict[str, evaluation.Verdict],
    probes: dict[str, bool | None] | None = None,
) -> list[dict[str, str]]:
    """Write the day's latest.{json,md}; [{name, path, sha256}] relative to the artifacts dir."""
    root = Path(settings.SOAK_ARTIFACTS_DIR)
    day = snapshot.taken_at.date().isoformat()
    folder = root / "docs" / "audits" / "health" / day
    folder.mkdir(parents=True, exist_ok=True)
    report = health_report(
        run=run, snapshot=snapshot, gates=gates, verdicts=verdicts, probes=probes
    )
    written = []
    for name, data in (
        ("latest.json", (json.dumps(report, indent=2, sort_keys=True) + "\n").encode()),
        ("latest.md", health_markdown(report).encode()),
    ):
        path = folder / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see half a file
        written.append(
            {
                "name": name,
                "path": str(path.relative_to(root)),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    return written

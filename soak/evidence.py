"""The evidence pack of a promotion: one zip a release manager can keep and check.

Members (docs/soak-ui.md, "Evidence pack"): ``gates.json`` and ``gates.md``
(threshold, comparator, actual, phase, source and query, decisions per
gate), ``snapshots.csv`` (each gate of every snapshot), ``plots/<gate>.html``
(standalone plotly pages sharing ``plots/plotly.min.js``: offline, no CDN),
the latest health report (or a note saying there is none — never one made
up), the OpenAPI diff against the committed baselines, ``task_status.json``
(the coordination export), the load profile and its results, the gates file
used, and ``manifest.json`` with the sha256 of every other member.

Stored as ``LUKHAS_SOAK_ARTIFACTS_DIR/evidence/<release>.zip``, written to a
temporary file first so a reader never sees half a pack; building it again
replaces it (the promotion step is idempotent).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly
from django.conf import settings
from django.utils import timezone

from coordination.exports import TASK_STATUS, export_bundle
from lukhas_site.openapi_diff import SpecError, diff_specs, load_spec
from soak import charts, selectors
from soak.models import GateResult, Release, Snapshot, SoakRun

MANIFEST = "manifest.json"
SCHEMA = "lukhas.soak.evidence/1"
NO_HEALTH = "no health report"
Progress = Callable[[int, int, str], None]

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class EvidencePack:
    path: Path
    sha256: str
    members: dict[str, str]  # name → sha256

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "sha256": self.sha256, "members": len(self.members)}


def pack_path(release: Release) -> Path:
    """Where the release's pack lives (the name made safe for a file system)."""
    name = _SAFE.sub("_", release.name).strip("._") or f"release-{release.pk}"
    return Path(settings.SOAK_ARTIFACTS_DIR) / "evidence" / f"{name}.zip"


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _cell(value: Any) -> str:
    return " ".join(str(value).replace("|", "\\|").split())


def _shown(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}"


def _gate_entry(row: GateResult) -> dict[str, Any]:
    return {
        "gate": row.gate_id,
        "title": row.title,
        "phase": row.phase,
        "value": row.value,
        "comparator": row.comparator,
        "threshold": row.threshold,
        "window": row.window,
        "severity": row.severity,
        "advisory": row.advisory,
        "source": row.source,
        "query": row.query,
        "message": row.message,
        "counts": {
            "successful": row.successful,
            "failed": row.failed,
            "inconclusive": row.inconclusive,
            "error": row.errors,
            "consecutive_errors": row.consecutive_errors,
        },
        "tasks": row.tasks,
        "decision": None
        if not row.decided_at
        else {
            "by": row.decided_by.get_username() if row.decided_by_id else None,
            "at": row.decided_at.isoformat(),
            "reason": row.decision_reason,
        },
    }


def gates_markdown(release: Release, run: SoakRun, gates: list[dict[str, Any]]) -> str:
    lines = [
        f"# GA gates of {release.name} (run #{run.pk}, {run.phase})",
        "",
        f"Gates version {run.gates_version or 'unknown'}, sha256 {run.gates_checksum or 'unknown'};"
        f" {run.hours_covered:.2f} of {run.planned_hours} planned hours covered.",
        "",
        "| gate | phase | actual | comparator | threshold | severity | source | query | decision |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for gate in gates:
        decision = gate["decision"]
        decided = f"{decision['by'] or 'cli'}: {decision['reason']}" if decision else ""
        severity = gate["severity"] + (" (advisory)" if gate["advisory"] else "")
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    gate["gate"],
                    gate["phase"],
                    _shown(gate["value"]),
                    gate["comparator"],
                    f"{gate['threshold']:g}",
                    severity,
                    gate["source"],
                    gate["query"] or "",
                    decided,
                )
            )
            + " |"
        )
    lines += ["", "A value `unknown` means no data: never a pass.", ""]
    return "\n".join(lines)


SNAPSHOT_COLUMNS = [
    "snapshot",
    "taken_at",
    "complete",
    "run_phase",
    "gate",
    "phase",
    "value",
    "comparator",
    "threshold",
    "message",
    "query",
]


def snapshots_csv(run: SoakRun) -> bytes:
    rows = (
        GateResult.objects.filter(run=run, snapshot__isnull=False)
        .select_related("snapshot")
        .order_by("snapshot__taken_at", "snapshot_id", "gate_id")
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SNAPSHOT_COLUMNS)
    for row in rows:
        snap: Snapshot = row.snapshot
        writer.writerow(
            [
                snap.pk,
                snap.taken_at.isoformat(),
                "yes" if snap.complete else "no",
                snap.run_phase,
                row.gate_id,
                row.phase,
                "" if row.value is None else repr(row.value),
                row.comparator,
                f"{row.threshold:g}",
                row.message,
                row.query,
            ]
        )
    return out.getvalue().encode()


def _health_files(run: SoakRun) -> tuple[dict[str, bytes], str]:
    """The latest health report's JSON and Markdown, and where they came from."""
    root = Path(settings.SOAK_ARTIFACTS_DIR)
    candidates: list[Path] = []
    latest = selectors.latest_snapshot(run)
    for artifact in (latest.artifacts if latest else []) or []:
        if artifact.get("name") == "latest.json":
            candidates.append(root / artifact["path"])
    candidates += [
        root / "docs/audits/health/latest.json",
        Path(settings.SOAK_HEALTH_DIR) / "docs/audits/health/latest.json",
    ]
    for json_path in candidates:
        if json_path.is_file():
            files = {"health/latest.json": json_path.read_bytes()}
            md_path = json_path.with_suffix(".md")
            if md_path.is_file():
                files["health/latest.md"] = md_path.read_bytes()
            return files, str(json_path)
    note = (
        f"{NO_HEALTH}: none was found at {', '.join(str(p) for p in candidates)}.\n"
        "The pack does not invent one.\n"
    )
    return {"health/NO_HEALTH_REPORT.txt": note.encode()}, ""


def _openapi_files() -> dict[str, bytes]:
    folder = Path(settings.BASE_DIR) / "docs" / "openapi"
    files: dict[str, bytes] = {}
    for base in sorted(folder.glob("*.baseline.json")):
        candidate = base.with_name(base.name.replace(".baseline.json", ".json"))
        stem = candidate.stem
        try:
            result = diff_specs(load_spec(str(base)), load_spec(str(candidate)))
        except SpecError as exc:
            files[f"openapi/{stem}.diff.txt"] = f"could not compare: {exc}\n".encode()
            continue
        report = {
            "base": str(base.relative_to(settings.BASE_DIR)),
            "candidate": str(candidate.relative_to(settings.BASE_DIR)),
            **result.to_dict(),
        }
        files[f"openapi/{stem}.diff.json"] = _json(report)
        files[f"openapi/{stem}.diff.txt"] = result.to_text().encode()
    if not files:
        files["openapi/NO_BASELINE.txt"] = f"no *.baseline.json under {folder}\n".encode()
    return files


def _load_files(run: SoakRun) -> dict[str, bytes]:
    results = [
        {"snapshot": pk, "taken_at": taken_at.isoformat(), "results": load_results}
        for pk, taken_at, load_results in Snapshot.objects.filter(
            run=run, load_results__isnull=False
        )
        .order_by("taken_at", "pk")
        .values_list("pk", "taken_at", "load_results")
    ]
    return {
        "load/profile.json": _json(run.load_profile or None),
        "load/results.json": _json(results),
    }


def _plot_files(run: SoakRun, gates: list[GateResult]) -> dict[str, bytes]:
    series = selectors.gate_series(run)
    files = {
        "plots/plotly.min.js": (
            Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        ).read_bytes()
    }
    for row in gates:
        figure = charts.gate_figure(row.gate_id, row.title, series.get(row.gate_id, []), height=420)
        html = figure.to_html(include_plotlyjs="plotly.min.js", full_html=True)
        files[f"plots/{row.gate_id}.html"] = html.encode()
    return files


def evidence_pack_build(*, release: Release, progress: Progress | None = None) -> EvidencePack:
    """Build the release's pack from its latest run; returns where it is and its checksums."""
    run = SoakRun.objects.filter(release=release).order_by("-created_at", "-pk").first()
    if run is None:
        raise ValueError(f"{release.name} has no soak run to pack")
    tick = progress or (lambda done, total, message: None)
    total = 7
    gates = list(selectors.run_gate_results(run).select_related("decided_by"))
    entries = [_gate_entry(row) for row in gates]
    tick(0, total, "gates")
    members: dict[str, bytes] = {
        "gates.json": _json(
            {
                "release": release.name,
                "version": release.version,
                "run": run.pk,
                "run_phase": run.phase,
                "hours_covered": run.hours_covered,
                "planned_hours": run.planned_hours,
                "gates_version": run.gates_version,
                "gates_checksum": run.gates_checksum,
                "gates": entries,
            }
        ),
        "gates.md": gates_markdown(release, run, entries).encode(),
    }
    tick(1, total, "snapshots")
    members["snapshots.csv"] = snapshots_csv(run)
    tick(2, total, "plots")
    members.update(_plot_files(run, gates))
    tick(3, total, "health report")
    health, health_source = _health_files(run)
    members.update(health)
    tick(4, total, "OpenAPI diff")
    members.update(_openapi_files())
    tick(5, total, "task status and load")
    members["task_status.json"] = export_bundle().files[TASK_STATUS].encode()
    members.update(_load_files(run))
    gates_file = Path(settings.SOAK_GATES_FILE)
    notes = []
    if gates_file.is_file():
        text = gates_file.read_bytes()
        members[f"gates/{gates_file.name}"] = text
        if hashlib.sha256(text).hexdigest() != run.gates_checksum:
            notes.append(
                f"the gates file now differs from the one the run was judged by "
                f"(run sha256 {run.gates_checksum or 'unknown'})"
            )
    else:
        notes.append(f"the gates file {gates_file} cannot be read now")
    if not health_source:
        notes.append(NO_HEALTH)
    checksums = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    manifest = {
        "schema": SCHEMA,
        "release": release.name,
        "version": release.version,
        "run": run.pk,
        "generated_at": timezone.now().isoformat(),
        "health_report": health_source or None,
        "notes": notes,
        "members": [
            {"name": name, "sha256": checksums[name], "bytes": len(members[name])}
            for name in sorted(members)
        ],
    }
    tick(6, total, "writing the zip")
    path = pack_path(release)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            archive.writestr(name, members[name])
        archive.writestr(MANIFEST, _json(manifest))
    tmp.replace(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    tick(total, total, "evidence pack written")
    return EvidencePack(path=path, sha256=digest, members=checksums)

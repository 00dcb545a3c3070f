"""The files a health report leaves: JSON + Markdown (canonical and back-compat), badge, summary.

Pure apart from writing files (no Django): it takes the report document
(``audits.selectors.report_document``, schema in docs/audits.md) and writes,
under the artifacts directory,

- ``docs/audits/health/latest.{json,md}`` (canonical),
- ``docs/audits/system_health.{json,md}`` (back-compat, the same bytes),
- ``docs/audits/health/<YYYY-MM-DD>/latest.{json,md}`` (the dated copy, for trends),
- ``docs/audits/health/sbom.cdx.json`` (when the SBOM collector produced one),
- ``docs/audits/health/badge.json`` (a shields.io endpoint badge).

Each file is written to a temporary name and renamed, so a reader (the soak
app's health source) never sees half a report.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from audits.gates import number

SCHEMA = "lukhas.health-report/1"
# GitHub refuses a step summary above 1 MiB; stay well under it.
STEP_SUMMARY_LIMIT = 1024 * 1024 - 4096
_COLOURS = {"ok": "brightgreen", "error": "red", "unknown": "lightgrey"}
_ICONS = {"ok": "✅", "error": "❌", "unknown": "❔", "failed": "❌", "unavailable": "❔"}
KEY_METRICS = (
    ("smoke.pass_percent", "smoke tests passing (%)"),
    ("ruff.production", "ruff issues, production lanes"),
    ("ruff.hot_paths", "ruff issues, hot paths"),
    ("coverage.percent", "coverage (%)"),
    ("lane_guard.violations", "lane violations"),
    ("pip_audit.vulnerabilities", "vulnerabilities"),
    ("secrets.new", "new secrets"),
    ("compileall.syntax_warnings", "syntax warnings"),
)


def nested_metrics(facts: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"ruff.hot_paths": 3} -> {"ruff": {"hot_paths": 3, "hot_path": 3}}: dotted lookups work.

    ``ruff.hot_path`` (singular) is kept as an alias because the soak GA gate
    file names it so.
    """
    nested: dict[str, dict[str, Any]] = {}
    for key, value in facts.items():
        collector, _, name = key.partition(".")
        nested.setdefault(collector, {})[name] = value
    if "ruff" in nested and "hot_paths" in nested["ruff"]:
        nested["ruff"]["hot_path"] = nested["ruff"]["hot_paths"]
    return nested


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False, default=str) + "\n"


def badge(document: dict[str, Any]) -> dict[str, Any]:
    """A shields.io endpoint badge: exactly schemaVersion, label, message and color."""
    status = document.get("status") or "unknown"
    gate = document.get("gates", {}).get(document.get("main_gate", ""), {})
    failed = len(gate.get("failed", []))
    message = {"ok": "passed", "error": f"failed ({failed})", "unknown": "unknown"}[status]
    return {"schemaVersion": 1, "label": "health", "message": message, "color": _COLOURS[status]}


def _value(value: Any) -> str:
    return (
        number(value)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else ("unknown" if value is None else str(value))
    )


def _key_numbers(document: dict[str, Any]) -> list[str]:
    facts = document.get("facts", {})
    lines = ["| metric | value |", "|---|---|"]
    for key, label in KEY_METRICS:
        lines.append(f"| {label} | {_value(facts.get(key))} |")
    return lines


def _gate_table(verdict: dict[str, Any]) -> list[str]:
    lines = [
        f"**Gate `{verdict['name']}`: {_ICONS[verdict['status']]} {verdict['status'].upper()}**",
        "",
        "| condition | actual | status | like for like |",
        "|---|---|---|---|",
    ]
    for c in verdict["conditions"]:
        comparable = "yes" if c["comparable"] else "⚠️ no (tool or rules changed)"
        lines.append(
            f"| `{c['metric']}` {c['comparator']} {number(c['threshold'])} | {_value(c['actual'])}"
            f" | {_ICONS[c['status']]} {c['status']} | {comparable} |"
        )
    return lines


def render_markdown(document: dict[str, Any], *, badge_url: str = "") -> str:
    """The report as Markdown: status, key numbers, gates, tracking table, then each collector."""
    status = document.get("status") or "unknown"
    out = [
        f"# Health report: {document['codebase']} — {_ICONS[status]} {status.upper()}",
        "",
    ]
    if badge_url:
        out += [f"![health]({badge_url})", ""]
    out += [
        f"Report #{document.get('report_id')} of {document.get('started_at')}, "
        f"commit `{document.get('git_commit') or 'unknown'}`, "
        f"gate file {document.get('gate_file_version') or 'unknown'}.",
        "",
    ]
    if document.get("comparable") is False:
        out += ["> ⚠️ Not comparable like for like with the previous report:", ">"]
        out += [f"> - {note}" for note in document.get("comparability_notes", [])]
        out.append("")
    out += [*_key_numbers(document), ""]
    for verdict in document.get("gates", {}).values():
        out += [*_gate_table(verdict), ""]
    tracking = document.get("tracking", [])
    if tracking:
        gates = list(document.get("gates", {}))
        out += ["## Metrics tracking", ""]
        targets = " | ".join(f"{g} target" for g in gates)
        out.append(f"| metric | baseline | actual | {targets} |")
        out.append("|---|---|---|" + "---|" * len(gates))
        for row in tracking:
            targets = [
                f"{row['targets'][g]['target']} {_ICONS[row['targets'][g]['status']]}"
                if g in row["targets"]
                else "—"
                for g in gates
            ]
            baseline = "—" if row["baseline"] is None else _value(row["baseline"])
            out.append(
                f"| {row['description'] or row['metric']} | {baseline} "
                f"| {_value(row['actual'])} | " + " | ".join(targets) + " |"
            )
        out.append("")
    out += ["## Collectors", ""]
    out += ["| collector | status | tool | seconds | findings |", "|---|---|---|---|---|"]
    for name, run in document.get("collectors", {}).items():
        out.append(
            f"| {name} | {_ICONS.get(run['status'], '')} {run['status']} | "
            f"{run['tool']} {run['tool_version']} | {_value(run['duration_seconds'])} "
            f"| {run['findings']} |"
        )
    out.append("")
    for name, run in document.get("collectors", {}).items():
        out += [f"### {name}", ""]
        for command in run.get("commands", []):
            out.append(f"    {command}")
        if run.get("error"):
            out += ["", f"{run['error']}"]
        sample = run.get("findings_sample", [])
        if sample:
            out += ["", f"Findings ({run['findings']}; the first {len(sample)}):", ""]
            for f in sample:
                where = f"{f['file']}:{f['line']}" if f.get("line") else f.get("file") or ""
                message = str(f["message"]).replace("|", "\\|").replace("\n", " ")
                out.append(f"- `{f['rule']}` {where} {message}".rstrip())
        out += ["", "```json", json.dumps(run.get("facts", {}), indent=1, default=str)[:4000]]
        out += ["```", ""]
    return "\n".join(out) + "\n"


def step_summary(document: dict[str, Any], *, badge_url: str = "") -> str:
    """The GitHub job summary: badge and key numbers first, the rest in <details>, < 1 MiB."""
    status = document.get("status") or "unknown"
    gate = document.get("gates", {}).get(document.get("main_gate", ""), {})
    head = [f"## Health audit: {document['codebase']} {_ICONS[status]} {status.upper()}", ""]
    if badge_url:
        head += [f"![health]({badge_url})", ""]
    else:
        b = badge(document)
        head += [
            f"![health](https://img.shields.io/badge/{b['label']}-"
            f"{b['message'].replace(' ', '%20').replace('-', '--')}-{b['color']})",
            "",
        ]
    if gate.get("failed"):
        head += ["Failed conditions: " + ", ".join(f"`{m}`" for m in gate["failed"]), ""]
    head += [*_key_numbers(document), ""]
    details = render_markdown(document)
    budget = STEP_SUMMARY_LIMIT - len("\n".join(head).encode()) - 200
    encoded = details.encode()
    if len(encoded) > budget:
        details = encoded[:budget].decode(errors="ignore") + "\n\n… (cut: see latest.md)\n"
    return "\n".join(
        [*head, "<details><summary>Full report</summary>", "", details, "</details>", ""]
    )


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_artifacts(
    document: dict[str, Any], artifacts_dir: Path, *, day: str, sbom: str | None = None
) -> dict[str, str]:
    """Write every file of the report; returns their paths by name (relative to the dir)."""
    audits = artifacts_dir / "docs" / "audits"
    health = audits / "health"
    as_json, as_md = render_json(document), render_markdown(document)
    paths = {
        "latest_json": health / "latest.json",
        "latest_md": health / "latest.md",
        "system_health_json": audits / "system_health.json",
        "system_health_md": audits / "system_health.md",
        "dated_json": health / day / "latest.json",
        "dated_md": health / day / "latest.md",
        "badge": health / "badge.json",
    }
    for name, path in paths.items():
        if name == "badge":
            _atomic_write(path, json.dumps(badge(document)) + "\n")
        else:
            _atomic_write(path, as_json if name.endswith("json") else as_md)
    if sbom and Path(sbom).exists():
        paths["sbom"] = health / "sbom.cdx.json"
        shutil.copyfile(sbom, paths["sbom"])
    return {name: str(path.relative_to(artifacts_dir)) for name, path in paths.items()}


def append_step_summary(document: dict[str, Any], summary_file: str | os.PathLike) -> int:
    """Append the job summary to $GITHUB_STEP_SUMMARY; returns the bytes written."""
    text = step_summary(document)
    with open(summary_file, "a", encoding="utf-8") as fh:
        fh.write(text)
    return len(text.encode())

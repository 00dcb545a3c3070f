"""The ``health`` source: a number of the latest health report, and its trend.

Reports are the audits app's files: ``<dir>/docs/audits/health/latest.json``
and the dated copies ``<dir>/docs/audits/health/<YYYY-MM-DD>/latest.json``
(``dir`` is ``LUKHAS_AUDITS_ARTIFACTS_DIR``; the format is the audits app's
``lukhas.health-report/1``, docs/audits.md). ``key`` (``ruff.hot_path``) is
looked up at the report's top level, then in ``facts`` (flat names, e.g.
``ruff.hot_paths``) and ``metrics`` (nested), as a flat name first, then as
a dotted path. With ``trend_reports: N`` the last N reports (by date)
must not rise (each value ≤ the one before); a rise fails the measurement
with the trend in the detail, and fewer than N reports is no data.
No report, or no number at the key, is no data: never a pass.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

from django.conf import settings

from soak.gates import GateSpec
from soak.sources.base import MeasureContext, Measurement, SourceError

DATED = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Where a report may keep its figures besides its top level.
SECTIONS = ("", "facts", "metrics")


def health_dir(base: str | Path | None = None) -> Path:
    return Path(base or settings.SOAK_HEALTH_DIR) / "docs" / "audits" / "health"


def lookup(report: dict[str, Any], key: str) -> tuple[Any, str]:
    """The value at dotted ``key`` (top level, then each section) and where it was found."""
    for section in SECTIONS:
        node: Any = report.get(section) if section else report
        if isinstance(node, dict) and node.get(key) is not None:
            # The audits report's ``facts`` are flat: {"ruff.hot_paths": 3}.
            return node[key], f"{section}.{key}" if section else key
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                node = None
                break
            node = node[part]
        if node is not None:
            return node, f"{section}.{key}" if section else key
    return None, key


def number(value: Any) -> float | None:
    """A report's figure as a number; a collector's dict may hold it under ``value``/``count``."""
    if isinstance(value, dict):
        for name in ("value", "count", "actual"):
            if name in value:
                return number(value[name])
        return None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise SourceError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(report, dict):
        raise SourceError(f"{path} is not a JSON object")
    return report


def reports(base: Path) -> list[tuple[str, Path]]:
    """(date, path) of the dated reports, oldest first."""
    if not base.is_dir():
        return []
    found = [
        (child.name, child / "latest.json")
        for child in base.iterdir()
        if child.is_dir() and DATED.match(child.name) and (child / "latest.json").is_file()
    ]
    return sorted(found)


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    key = gate.key or ""
    base = health_dir()
    latest = base / "latest.json"
    query = f"{latest} {key}"
    dated = reports(base)
    if latest.is_file():
        report, found_at = _read(latest), str(latest)
    elif dated:
        report, found_at = _read(dated[-1][1]), str(dated[-1][1])
    else:
        return Measurement(None, query, f"no health report under {base}")
    raw, where = lookup(report, key)
    value = number(raw)
    query = f"{found_at} {where}"
    if value is None:
        return Measurement(None, query, f"the report has no number at {key!r}")
    detail: dict[str, Any] = {
        "report": found_at,
        "finished_at": report.get("finished_at") or report.get("generated_at"),
        "git_commit": report.get("git_commit"),
    }
    if not gate.trend_reports:
        return Measurement(value, query, detail=detail)
    trend: list[dict[str, Any]] = []
    for date, path in dated[-gate.trend_reports :]:
        trend.append({"date": date, "value": number(lookup(_read(path), key)[0])})
    detail["trend"] = trend
    query += f", trend over the last {gate.trend_reports} dated reports"
    values = [point["value"] for point in trend]
    if len(trend) < gate.trend_reports or any(v is None for v in values):
        return Measurement(
            None,
            query,
            f"the trend needs {gate.trend_reports} dated reports with {key}; found "
            f"{sum(v is not None for v in values)} (latest value {value:g})",
            detail,
        )
    rises = [
        f"{a['date']} {a['value']:g} → {b['date']} {b['value']:g}"
        for a, b in itertools.pairwise(trend)
        if b["value"] > a["value"]
    ]
    series = " → ".join(f"{v:g}" for v in values)
    if rises:
        detail["veto"] = f"rising over the last {len(trend)} reports ({'; '.join(rises)})"
        return Measurement(value, query, f"trend {series}", detail)
    return Measurement(value, query, f"trend {series}, not rising", detail)

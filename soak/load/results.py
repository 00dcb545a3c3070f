"""Locust's CSV stats (``--csv PREFIX``) read into one dict per request name.

Pure (no Django). Locust writes ``PREFIX_stats.csv`` (one row per request
type and name, plus ``Aggregated``) and ``PREFIX_failures.csv``. A value
Locust did not know ("N/A", an empty cell, a request name with no request)
stays ``None``: never a guessed 0. Percentiles are Locust's: response times
kept rounded (1 ms below 100 ms, 10 ms below 1 s, 100 ms above), so a p99
may read a little above the exact ``max``.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

STATS_SUFFIX = "_stats.csv"
FAILURES_SUFFIX = "_failures.csv"
# Written by the locustfile as Locust quits: the run's last second included.
FINAL_STATS_SUFFIX = "_final_stats.csv"
FINAL_FAILURES_SUFFIX = "_final_failures.csv"
# Our key -> Locust's column (response times in milliseconds).
COLUMNS = {
    "count": "Request Count",
    "failures": "Failure Count",
    "p50": "50%",
    "p90": "90%",
    "p95": "95%",
    "p99": "99%",
    "max": "Max Response Time",
    "avg": "Average Response Time",
    "rps": "Requests/s",
}
INTEGER_KEYS = {"count", "failures"}


def _value(raw: str | None, *, integer: bool) -> float | int | None:
    if raw is None:
        return None
    raw = raw.strip()
    if not raw or raw.upper() == "N/A":
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return int(number) if integer else number


def _row(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {key: _value(row.get(col), integer=key in INTEGER_KEYS)
                           for key, col in COLUMNS.items()}  # fmt: skip
    if not out["count"]:
        # No request: no latency was measured, whatever Locust printed.
        for key in ("p50", "p90", "p95", "p99", "max", "avg"):
            out[key] = None
    return out


def parse_stats(stats_csv: str | Path) -> dict[str, Any]:
    """``{"requests": {name: {...}}, "aggregated": {...}}`` from a ``_stats.csv``."""
    requests: dict[str, dict[str, Any]] = {}
    aggregated: dict[str, Any] | None = None
    with Path(stats_csv).open(newline="") as fh:
        for row in csv.DictReader(fh):
            name = (row.get("Name") or "").strip()
            if name == "Aggregated":
                aggregated = _row(row)
                continue
            entry = _row(row)
            entry["method"] = (row.get("Type") or "").strip() or None
            requests[name] = entry
    return {"requests": requests, "aggregated": aggregated}


def parse_failures(failures_csv: str | Path) -> list[dict[str, Any]]:
    """Each distinct failure: method, name, error text, occurrences."""
    path = Path(failures_csv)
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return [
            {
                "method": row.get("Method") or None,
                "name": row.get("Name") or None,
                "error": row.get("Error") or None,
                "occurrences": _value(row.get("Occurrences"), integer=True),
            }
            for row in csv.DictReader(fh)
        ]


def results_for(prefix: str | Path) -> dict[str, Any]:
    """The stats and failures of the run that wrote ``--csv PREFIX``; empty if none yet.

    The final files (written as Locust quits) win over the running ones;
    ``final`` says which were read. ``complete`` is False when there is no
    stats file (the run never wrote one: not started, killed before its first
    write): its figures are null.
    """
    prefix = str(prefix)
    final = Path(prefix + FINAL_STATS_SUFFIX).exists()
    stats = Path(prefix + (FINAL_STATS_SUFFIX if final else STATS_SUFFIX))
    if not stats.exists():
        return {"complete": False, "final": False, "requests": {}, "aggregated": None,
                "failures": []}  # fmt: skip
    parsed = parse_stats(stats)
    failures = prefix + (FINAL_FAILURES_SUFFIX if final else FAILURES_SUFFIX)
    return {
        "complete": parsed["aggregated"] is not None,
        "final": final,
        **parsed,
        "failures": parse_failures(failures),
    }


HISTORY_SUFFIX = "_stats_history.csv"


def _timestamp(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def interval_since(prefix: str | Path, since: float) -> dict[str, Any] | None:
    """Requests and failures made after ``since`` (unix time), from Locust's stats history.

    Locust appends the aggregate's running totals to ``PREFIX_stats_history.csv``
    about once a second; the totals at ``since`` are those of the last row
    at or before it (0 when the load started after it). None without history.
    """
    path = Path(str(prefix) + HISTORY_SUFFIX)
    if not path.exists():
        return None
    rows: list[tuple[float, int, int]] = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if (row.get("Name") or "").strip() != "Aggregated":
                continue
            at = _timestamp(row.get("Timestamp"))
            count = _value(row.get("Total Request Count"), integer=True)
            failures = _value(row.get("Total Failure Count"), integer=True)
            if at is None or count is None or failures is None:
                continue
            rows.append((at, int(count), int(failures)))
    if not rows:
        return None
    before = [r for r in rows if r[0] <= since]
    base_count, base_failures = (before[-1][1], before[-1][2]) if before else (0, 0)
    last_at, count, failures = rows[-1]
    return {
        "since": since,
        "until": last_at,
        "count": count - base_count,
        "failures": failures - base_failures,
    }

"""The row every benchmark reports, and the percentile they all use."""

from __future__ import annotations

from typing import Any


def row(
    name: str,
    value: float,
    unit: str,
    baseline_name: str,
    baseline_value: float | None,
    budget: str,
    ok: bool,
) -> dict[str, Any]:
    """One measure against the baseline measured in the same run."""
    ratio = value / baseline_value if baseline_value else None
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline_name": baseline_name,
        "baseline_value": baseline_value,
        "ratio": ratio,
        "budget": budget,
        "ok": bool(ok),
    }


def p95(samples: list[float]) -> float:
    """Nearest-rank 95th percentile (no interpolation: a sample that happened)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

"""The quality gate over a report's facts, comparability, and the metrics tracking table.

Pure (no Django). SonarQube's shape: a gate is conditions (metric,
comparator, threshold); each condition is ``ok``, ``error`` or ``unknown``
(the metric was not measured: unknown never passes); the gate is ``error``
when one condition fails, else ``unknown`` when one is unknown, else ``ok``.
A condition whose metric changed tool version or rule set since the previous
report is flagged ``comparable: false``: its delta is shown, not counted as a
regression.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from audits.config import GateCondition, GateDefinition, GateFile

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def condition_verdict(
    condition: GateCondition, facts: Mapping[str, Any], not_comparable: set[str]
) -> dict[str, Any]:
    actual = facts.get(condition.metric)
    if isinstance(actual, bool):
        actual = int(actual)
    if isinstance(actual, int | float):
        passed = COMPARATORS[condition.comparator](actual, condition.threshold)
        status = "ok" if passed else "error"
    else:
        actual, status = None, "unknown"  # not measured: never passes
    collector = condition.metric.split(".", 1)[0]
    return {
        "metric": condition.metric,
        "description": condition.description,
        "comparator": condition.comparator,
        "threshold": condition.threshold,
        "actual": actual,
        "status": status,
        "baseline": condition.baseline,
        "comparable": collector not in not_comparable,
    }


def gate_verdict(
    gate: GateDefinition, facts: Mapping[str, Any], not_comparable: set[str] = frozenset()
) -> dict[str, Any]:
    conditions = [condition_verdict(c, facts, set(not_comparable)) for c in gate.conditions]
    statuses = {c["status"] for c in conditions}
    status = "error" if "error" in statuses else "unknown" if "unknown" in statuses else "ok"
    return {
        "name": gate.name,
        "description": gate.description,
        "status": status,
        "failed": [c["metric"] for c in conditions if c["status"] == "error"],
        "unknown": [c["metric"] for c in conditions if c["status"] == "unknown"],
        "conditions": conditions,
    }


def evaluate(
    gate_file: GateFile, facts: Mapping[str, Any], not_comparable: set[str] = frozenset()
) -> dict[str, dict[str, Any]]:
    """Every gate's verdict, in file order (the first is the report's status)."""
    return {gate.name: gate_verdict(gate, facts, not_comparable) for gate in gate_file.gates}


def comparability(
    current: Mapping[str, Mapping[str, str]],
    previous: Mapping[str, Mapping[str, str]] | None,
    *,
    config_checksum: str,
    previous_checksum: str | None,
) -> tuple[bool | None, list[str], set[str]]:
    """(comparable, notes, collectors not comparable) against the previous report.

    ``current``/``previous`` map a collector to ``{"tool_version", "ruleset"}``.
    A new tool version or rule set makes that collector's numbers not like
    for like; a changed lanes config or gate file makes the whole report so.
    """
    if previous is None:
        return None, ["no previous report to compare with"], set()
    notes: list[str] = []
    changed: set[str] = set()
    for collector, now in current.items():
        before = previous.get(collector)
        if before is None:
            continue
        for key in ("tool_version", "ruleset"):
            if (now.get(key) or "") != (before.get(key) or ""):
                changed.add(collector)
                label = "rule set" if key == "ruleset" else "tool version"
                detail = f": {before.get(key)} -> {now.get(key)}" if key == "tool_version" else ""
                notes.append(f"{collector}: {label} changed{detail}")
    if previous_checksum is not None and previous_checksum != config_checksum:
        notes.append("the lanes config or the gate file changed")
        changed |= set(current)
    return not changed, notes, changed


def tracking_table(
    gate_file: GateFile, verdicts: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The plans' metrics tracking table: per metric its baseline, actual and each gate's target."""
    rows: dict[str, dict[str, Any]] = {}
    for gate in gate_file.gates:
        for condition in verdicts[gate.name]["conditions"]:
            row = rows.setdefault(
                condition["metric"],
                {
                    "metric": condition["metric"],
                    "description": condition["description"],
                    "baseline": condition["baseline"],
                    "actual": condition["actual"],
                    "targets": {},
                },
            )
            if row["baseline"] is None:
                row["baseline"] = condition["baseline"]
            row["targets"][gate.name] = {
                "target": f"{condition['comparator']} {number(condition['threshold'])}",
                "status": condition["status"],
            }
    return list(rows.values())


def number(value: float | int | None) -> str:
    """A threshold or actual as people write it (90, 71.4, unknown)."""
    if value is None:
        return "unknown"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

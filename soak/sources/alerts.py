"""The ``alerts`` source: alerts of ``alert_severity`` that fired during the window.

Two records are added up: the run's AlertRecord rows (the sentinel writes
one, severity ``page``, when a critical gate fails) and, with
``LUKHAS_PROMETHEUS_URL`` set, Prometheus' own ``ALERTS`` series — the
number of distinct alerts that were firing at any sample of the window.
Prometheus unreachable is an error measurement, never "no alerts".
"""

from __future__ import annotations

from typing import Any

from soak.gates import GateSpec
from soak.models import AlertRecord
from soak.sources.base import MeasureContext, Measurement
from soak.sources.metrics import prometheus_instant


def alerts_promql(severity: str, window_seconds: int) -> str:
    """Distinct alerts of ``severity`` firing at any sample of the window."""
    selector = f'ALERTS{{alertstate="firing",severity="{severity}"}}'
    return f"count(count_over_time({selector}[{max(1, window_seconds)}s]))"


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    severity = gate.alert_severity
    records = AlertRecord.objects.filter(
        run_id=ctx.run_id,
        severity=severity,
        fired_at__gte=ctx.window_start,
        fired_at__lte=ctx.now,
    )
    if ctx.prometheus_url:
        # Prometheus' own alerts are read from Prometheus; rows it may have
        # been copied into are not counted twice.
        records = records.exclude(source="prometheus")
    rows = list(records.order_by("fired_at").values("name", "source", "fired_at"))
    query = (
        f"AlertRecord(run=#{ctx.run_id}, severity={severity}, "
        f"fired {ctx.window_start:%Y-%m-%dT%H:%M:%SZ}..{ctx.now:%Y-%m-%dT%H:%M:%SZ})"
    )
    detail: dict[str, Any] = {
        "recorded": [
            {"name": r["name"], "source": r["source"], "fired_at": r["fired_at"].isoformat()}
            for r in rows
        ]
    }
    total = float(len(rows))
    if ctx.prometheus_url:
        seconds = int((ctx.now - ctx.window_start).total_seconds())
        promql = alerts_promql(severity, seconds)
        query += f" + Prometheus {promql}"
        data = prometheus_instant(ctx.prometheus_url.rstrip("/"), promql, ctx.now)
        result = data.get("result") or []
        # An empty vector: no alert of that severity fired (Prometheus answered).
        firing = float(result[0]["value"][1]) if result else 0.0
        detail["prometheus_firing"] = firing
        total += firing
    message = f"{int(total)} alert(s) of severity {severity}" if total else ""
    return Measurement(total, query, message, detail)

"""Latency of the MATRIZ stages, read back from the Prometheus collectors, as plotly charts.

The figures come from the same histograms /metrics exposes
(``matriz_stage_duration_seconds``, ``matriz_end_to_end_seconds``), read
through ``lukhas_site.metrics.render_latest`` so that with
``PROMETHEUS_MULTIPROC_DIR`` they add up every web and worker process of the
machine. Quantiles are estimated from the buckets the way PromQL's
``histogram_quantile`` does (linear within a bucket), so the page and Grafana
agree. Each function returns ``fig.to_json()`` made safe for a
``<script type="application/json">`` element; matriz/static/matriz/matriz.js
hands it to ``Plotly.newPlot``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import plotly.graph_objects as go
from django.utils.safestring import SafeString, mark_safe
from prometheus_client.parser import text_string_to_metric_families

from lukhas_site.metrics import render_latest
from matriz.engine import STAGE_ORDER

END_TO_END = "end-to-end"
# The samples latency_snapshot reads (restricting the render skips the other apps' collectors).
_SERIES = (
    *(
        f"{family}{suffix}"
        for family in ("matriz_stage_duration_seconds", "matriz_end_to_end_seconds")
        for suffix in ("_bucket", "_count", "_sum")
    ),
    "matriz_stage_fail_total",
)
QUANTILES = (0.5, 0.95, 0.99)
COLOURS = {0.5: "#2f6fd6", 0.95: "#f5b94a", 0.99: "#c2372f"}
_LAYOUT = {
    "height": 300,
    "margin": {"l": 56, "r": 16, "t": 40, "b": 48},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.2},
}


@dataclass
class Histogram:
    """One histogram series: cumulative counts per upper bound (seconds), sorted."""

    buckets: list[tuple[float, float]] = field(default_factory=list)
    count: float = 0.0
    total: float = 0.0

    def quantile(self, q: float) -> float | None:
        """Seconds, as histogram_quantile() would answer; None without observations."""
        if self.count <= 0 or not self.buckets:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for upper, cumulative in self.buckets:
            if cumulative >= rank:
                if math.isinf(upper):
                    return lower
                if cumulative == below:
                    return upper
                return lower + (upper - lower) * (rank - below) / (cumulative - below)
            lower, below = upper, cumulative
        return lower

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass
class LatencySnapshot:
    stages: dict[str, Histogram]
    end_to_end: Histogram
    failures: dict[tuple[str, str], float]

    @property
    def queries(self) -> int:
        return int(self.end_to_end.count)

    def rows(self) -> list[dict]:
        """Per stage and end to end: count, mean and quantiles in ms (for the table)."""
        out = []
        for name, histogram in [*self.stages.items(), (END_TO_END, self.end_to_end)]:
            row = {"stage": name, "count": int(histogram.count), "mean_ms": _ms(histogram.mean)}
            for q in QUANTILES:
                row[f"p{round(q * 100)}_ms"] = _ms(histogram.quantile(q))
            out.append(row)
        return out


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000.0, 3)


def latency_snapshot() -> LatencySnapshot:
    """The MATRIZ histograms of this machine's processes, from the exposition text."""
    body, _ = render_latest(_SERIES)
    stage_buckets: dict[str, dict[float, float]] = defaultdict(dict)
    stage_count: dict[str, float] = defaultdict(float)
    stage_sum: dict[str, float] = defaultdict(float)
    e2e_buckets: dict[float, float] = {}
    e2e = Histogram()
    failures: dict[tuple[str, str], float] = defaultdict(float)
    for family in text_string_to_metric_families(body.decode()):
        if not family.name.startswith("matriz_"):
            continue
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "matriz_stage_duration_seconds_bucket":
                stage = labels["stage"]
                le = float(labels["le"])
                stage_buckets[stage][le] = stage_buckets[stage].get(le, 0.0) + value
            elif name == "matriz_stage_duration_seconds_count":
                stage_count[labels["stage"]] += value
            elif name == "matriz_stage_duration_seconds_sum":
                stage_sum[labels["stage"]] += value
            elif name == "matriz_end_to_end_seconds_bucket":
                le = float(labels["le"])
                e2e_buckets[le] = e2e_buckets.get(le, 0.0) + value
            elif name == "matriz_end_to_end_seconds_count":
                e2e.count += value
            elif name == "matriz_end_to_end_seconds_sum":
                e2e.total += value
            elif name == "matriz_stage_fail_total":
                failures[(labels["stage"], labels["type"])] += value
    stages = {}
    for stage in STAGE_ORDER:
        key = stage.value
        stages[key] = Histogram(
            buckets=sorted(stage_buckets.get(key, {}).items()),
            count=stage_count.get(key, 0.0),
            total=stage_sum.get(key, 0.0),
        )
    e2e.buckets = sorted(e2e_buckets.items())
    return LatencySnapshot(stages=stages, end_to_end=e2e, failures=dict(failures))


def _queries(count: int) -> str:
    return f"{count} query" if count == 1 else f"{count} queries"


def _safe_json(figure: go.Figure) -> SafeString:
    """JSON that cannot close its <script> element: <, > and & as \\u escapes."""
    text = figure.to_json()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above; it is JSON, not HTML


def _empty_note(figure: go.Figure, snapshot: LatencySnapshot) -> None:
    if snapshot.queries == 0:
        figure.add_annotation(
            text="No query yet in these processes: run a test query below",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
        )


def percentile_chart(snapshot: LatencySnapshot) -> SafeString:
    """Grouped bars: p50 / p95 / p99 of each stage and of the whole query, in ms."""
    names = [*snapshot.stages, END_TO_END]
    histograms = [*snapshot.stages.values(), snapshot.end_to_end]
    figure = go.Figure(
        [
            go.Bar(
                name=f"p{round(q * 100)}",
                x=names,
                y=[_ms(h.quantile(q)) for h in histograms],
                marker_color=COLOURS[q],
                hovertemplate="%{x}: %{y:.3f} ms<extra>p" + str(round(q * 100)) + "</extra>",
            )
            for q in QUANTILES
        ]
    )
    figure.update_layout(
        title={"text": f"Latency per stage ({_queries(snapshot.queries)})", "x": 0},
        barmode="group",
        yaxis={"title": "ms", "rangemode": "tozero"},
        **_LAYOUT,
    )
    _empty_note(figure, snapshot)
    return _safe_json(figure)


def distribution_chart(snapshot: LatencySnapshot) -> SafeString:
    """Share of calls at or under each bucket bound, per stage (log-scale ms)."""
    traces = []
    for name, histogram in [*snapshot.stages.items(), (END_TO_END, snapshot.end_to_end)]:
        if not histogram.count:
            continue
        finite = [(le, c) for le, c in histogram.buckets if not math.isinf(le)]
        traces.append(
            go.Scatter(
                name=name,
                x=[le * 1000.0 for le, _ in finite],
                y=[c / histogram.count for _, c in finite],
                mode="lines+markers",
                line={"shape": "hv", "dash": "dot" if name == END_TO_END else "solid"},
            )
        )
    figure = go.Figure(traces)
    figure.update_layout(
        title={"text": "Calls finished within (cumulative share)", "x": 0},
        xaxis={"title": "ms (bucket bound)", "type": "log"},
        yaxis={"title": "share", "range": [0, 1.05], "tickformat": ".0%"},
        **_LAYOUT,
    )
    _empty_note(figure, snapshot)
    return _safe_json(figure)

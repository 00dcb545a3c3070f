"""Trend charts of the health reports, built server-side with plotly (as coordination.charts).

Each function returns ``fig.to_json()`` made safe inside a ``<script
type="application/json">``; ``static/audits/audits.js`` draws it with
``Plotly.newPlot``. A report without a value has a gap, never a 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from django.utils.safestring import SafeString, mark_safe

from audits.models import HealthReport

_LAYOUT = {
    "height": 260,
    "margin": {"l": 48, "r": 16, "t": 36, "b": 40},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.3},
}

# (chart id, title, y axis, [(fact key, series name)])
TRENDS = (
    ("smoke", "Smoke tests passing", "%", [("smoke.pass_percent", "passing %")]),
    (
        "ruff",
        "Ruff issues by lane",
        "issues",
        [
            ("ruff.production", "production"),
            ("ruff.labs", "labs"),
            ("ruff.hot_paths", "hot paths"),
        ],
    ),
    (
        "coverage",
        "Coverage",
        "%",
        [("coverage.percent", "overall"), ("coverage.production_percent", "production")],
    ),
    (
        "vulnerabilities",
        "Vulnerabilities (pip-audit)",
        "vulnerabilities",
        [("pip_audit.vulnerabilities", "vulnerabilities")],
    ),
)


def _safe_json(figure: go.Figure) -> SafeString:
    """JSON that cannot close its <script> element: <, > and & as \\u escapes."""
    text = figure.to_json()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above; it is JSON, not HTML


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def trend_charts(history: Sequence[HealthReport]) -> dict[str, SafeString]:
    """One figure per trend over ``history`` (oldest first); missing values are gaps."""
    times = [report.started_at.isoformat() for report in history]
    charts: dict[str, SafeString] = {}
    for chart_id, title, axis, series in TRENDS:
        figure = go.Figure(
            [
                go.Scatter(
                    name=name,
                    x=times,
                    y=[_number((report.facts or {}).get(key)) for report in history],
                    mode="lines+markers",
                    connectgaps=False,
                    customdata=[report.pk for report in history],
                    hovertemplate="report #%{customdata}: %{y}<extra>" + name + "</extra>",
                )
                for key, name in series
            ]
        )
        figure.update_layout(title={"text": title, "x": 0}, yaxis_title=axis, **_LAYOUT)
        if axis == "%":
            figure.update_yaxes(range=[0, 100])
        charts[chart_id] = _safe_json(figure)
    return charts

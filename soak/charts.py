"""The soak's charts, built server-side with plotly's Python API (as coordination/charts.py).

One time series per gate: its measurements, its threshold as a line, and
the stretches without data shaded (a value None is unknown: never drawn as
zero, never joined across). The same figure goes on the page (JSON for
``Plotly.newPlot``) and into the evidence pack (standalone HTML).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
from django.utils.safestring import SafeString, mark_safe

PHASE_COLOURS = {
    "successful": "#2e7d32",
    "failed": "#c62828",
    "error": "#6a1b9a",
    "inconclusive": "#ef6c00",
    "pending": "#6b7389",
    "running": "#1565c0",
}
NO_DATA_FILL = "rgba(239, 108, 0, 0.15)"

_LAYOUT = {
    "height": 260,
    "margin": {"l": 48, "r": 16, "t": 36, "b": 40},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.3},
}


def safe_json(figure: go.Figure) -> SafeString:
    """JSON that cannot close its <script> element: <, > and & as \\u escapes."""
    text = figure.to_json()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above; it is JSON, not HTML


def no_data_stretches(points: Sequence[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    """(start, end) of each run of points without a value; one lone point spans itself."""
    stretches: list[tuple[datetime, datetime]] = []
    start: datetime | None = None
    previous: datetime | None = None
    for point in points:
        if point["value"] is None:
            start = start or point["taken_at"]
            previous = point["taken_at"]
        elif start is not None:
            # The gap lasts until data came back.
            stretches.append((start, point["taken_at"]))
            start = None
    if start is not None and previous is not None:
        stretches.append((start, previous))
    return stretches


def gate_figure(
    gate_id: str, title: str, points: Sequence[dict[str, Any]], *, height: int | None = None
) -> go.Figure:
    """One gate's series: markers coloured by phase, the threshold line, no-data shading."""
    points = list(points)
    times = [p["taken_at"].isoformat() for p in points]
    values = [p["value"] for p in points]
    figure = go.Figure(
        [
            go.Scatter(
                name="measured",
                x=times,
                y=values,
                mode="lines+markers",
                connectgaps=False,
                line={"color": "#1565c0"},
                marker={"color": [PHASE_COLOURS.get(p["phase"], "#6b7389") for p in points]},
                text=[p["phase"] for p in points],
                hovertemplate="%{x}<br>%{y}<br>%{text}<extra></extra>",
            )
        ]
    )
    if points:
        threshold = points[-1]["threshold"]
        comparator = points[-1]["comparator"]
        figure.add_trace(
            go.Scatter(
                name=f"threshold ({comparator} {threshold:g})",
                x=[times[0], times[-1]] if len(times) > 1 else times,
                y=[threshold] * min(len(times), 2),
                mode="lines",
                line={"color": "#c62828", "dash": "dash"},
            )
        )
    for start, end in no_data_stretches(points):
        figure.add_vrect(
            x0=start.isoformat(),
            x1=end.isoformat(),
            fillcolor=NO_DATA_FILL,
            line_width=0,
            layer="below",
            annotation_text="no data",
            annotation_position="top left",
        )
    layout = {**_LAYOUT, "height": height or _LAYOUT["height"]}
    figure.update_layout(title={"text": f"{gate_id}: {title}"[:90], "x": 0}, **layout)
    return figure


def sparkline_svg(points: Sequence[dict[str, Any]], *, width: int = 90, height: int = 22) -> str:
    """A tiny SVG polyline of the values (no JS, fits a table cell); gaps break the line."""
    values = [p["value"] for p in points]
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    segments: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        y = height - 2 - (value - low) / span * (height - 4)
        segments[-1].append(f"{index * step:.1f},{y:.1f}")
    lines = "".join(
        f'<polyline points="{" ".join(seg)}" fill="none" stroke="#1565c0" stroke-width="1.5"/>'
        for seg in segments
        if seg
    )
    return (
        f'<svg class="soak-spark" width="{width}" height="{height}" viewBox="0 0 {width} '
        f'{height}" role="img" aria-label="trend">{lines}</svg>'
    )

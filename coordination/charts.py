"""The board's charts, built server-side with plotly's Python API.

Each function returns ``fig.to_json()`` made safe to sit inside a
``<script type="application/json">`` element; the page hands it to
``Plotly.newPlot`` (plotly.js is served from ``static/vendor/plotly.min.js``).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from coordination.models import STATUS_COLOURS, Snapshot, TaskStatus
from coordination.selectors import Totals

_LAYOUT = {
    "height": 280,
    "margin": {"l": 48, "r": 16, "t": 36, "b": 48},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"family": "system-ui, sans-serif", "size": 12},
    "legend": {"orientation": "h", "y": -0.25},
}


def _safe_json(figure: go.Figure) -> SafeString:
    """JSON that cannot close its <script> element: <, > and & as \\u escapes."""
    text = figure.to_json()
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)  # noqa: S308 - escaped above; it is JSON, not HTML


def owner_status_chart(totals: Totals) -> SafeString:
    owners = list(totals.by_owner)
    figure = go.Figure(
        [
            go.Bar(
                name=label,
                x=owners,
                y=[totals.by_owner[o].get(status, 0) for o in owners],
                marker_color=STATUS_COLOURS[status],
            )
            for status, label in TaskStatus.choices
            if any(totals.by_owner[o].get(status, 0) for o in owners)
        ]
    )
    figure.update_layout(
        title={"text": "Tasks by owner and status", "x": 0},
        barmode="stack",
        yaxis_title="tasks",
        **_LAYOUT,
    )
    return _safe_json(figure)


def burn_chart(snapshots: Sequence[Snapshot], now: Totals | None = None) -> SafeString:
    """Burn-up (scope and done tasks) and burn-down (remaining hours) from the snapshots,
    ending with the board as it is now."""
    snapshots = list(snapshots)
    if now is not None:
        snapshots.append(
            Snapshot(
                taken_at=timezone.now(),
                task_count=now.task_count,
                done_count=now.done_count,
                remaining_hours=now.remaining_hours,
                unestimated_open_count=now.unestimated_open,
            )
        )
    times = [s.taken_at.isoformat() for s in snapshots]
    figure = go.Figure(
        [
            go.Scatter(
                name="scope (tasks)",
                x=times,
                y=[s.task_count for s in snapshots],
                mode="lines+markers",
                line={"color": "#6b7389", "dash": "dot"},
            ),
            go.Scatter(
                name="done (tasks)",
                x=times,
                y=[s.done_count for s in snapshots],
                mode="lines+markers",
                line={"color": STATUS_COLOURS[TaskStatus.DONE]},
            ),
            go.Scatter(
                name="remaining hours (estimated tasks only)",
                x=times,
                y=[s.remaining_hours for s in snapshots],
                mode="lines+markers",
                yaxis="y2",
                line={"color": "#b7791f"},
            ),
        ]
    )
    figure.update_layout(
        title={"text": "Burn-up / burn-down (snapshots)", "x": 0},
        yaxis={"title": "tasks", "rangemode": "tozero"},
        yaxis2={"title": "hours", "overlaying": "y", "side": "right", "rangemode": "tozero"},
        **_LAYOUT,
    )
    return _safe_json(figure)


def _remaining_title(totals: Totals) -> str:
    """The chart says what its bars leave out: open tasks without an estimate."""
    title = "Remaining estimate by owner (h)"
    if totals.unestimated_open:
        title += f": {totals.unestimated_open} open tasks without an estimate not counted"
    return title


def remaining_by_owner_chart(totals: Totals) -> SafeString:
    hours = totals.remaining_hours_by_owner
    figure = go.Figure(
        [go.Bar(x=list(hours), y=list(hours.values()), marker_color="#b7791f", name="hours")]
    )
    figure.update_layout(
        title={"text": _remaining_title(totals), "x": 0},
        yaxis_title="hours",
        showlegend=False,
        **_LAYOUT,
    )
    return _safe_json(figure)

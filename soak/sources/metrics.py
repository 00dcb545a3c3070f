"""The ``metrics`` gate source: an SLI from Prometheus, or from the sentinel's own scrapes.

``ctx.prometheus_url`` (``LUKHAS_PROMETHEUS_URL``) chooses the backend:

- **Prometheus** (recommended beyond one machine): the gate's PromQL, its
  ``{window}`` resolved (``soak`` = since the run started, in whole seconds),
  as an instant query at ``ctx.now`` over the HTTP API;
- **embedded** (the single-machine default): the same SLI (``gate.sli``, see
  ``soak.sli.SLIS``) from the MetricScrape rows that
  ``soak.services.scrapes.metric_scrape_take`` stored during the window.

Either way an empty answer or 0/0 is *no data* (value None, never a pass),
and a source that cannot be read raises SourceError with what failed.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import httpx
from django.conf import settings

from soak import sli
from soak.gates import GateSpec
from soak.models import MetricScrape
from soak.sources.base import MeasureContext, Measurement, SourceError


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    if ctx.prometheus_url:
        return measure_prometheus(gate, ctx)
    return measure_embedded(gate, ctx)


# --- Prometheus ----------------------------------------------------------------------


def resolve_window(gate: GateSpec, ctx: MeasureContext) -> str:
    """``soak`` → the run so far rounded up to whole seconds (``[3723s]``); else as written."""
    if gate.window != "soak":
        return gate.window
    seconds = math.ceil((ctx.now - ctx.started_at).total_seconds())
    return f"{max(seconds, 1)}s"


def resolve_query(gate: GateSpec, ctx: MeasureContext) -> str:
    # str.replace, not format(): PromQL is full of braces.
    return " ".join((gate.query or "").split()).replace("{window}", resolve_window(gate, ctx))


def prometheus_instant(url: str, promql: str, at: datetime) -> dict[str, Any]:
    """The ``data`` of ``/api/v1/query`` at ``at``; SourceError with Prometheus' own words."""
    try:
        response = httpx.get(
            f"{url}/api/v1/query",
            params={"query": promql, "time": f"{at.timestamp():.3f}"},
            timeout=settings.SOAK_PROMETHEUS_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise SourceError(
            f"Prometheus at {url} unreachable: {exc.__class__.__name__}: {exc}"
        ) from exc
    try:
        body = response.json()
    except ValueError:
        raise SourceError(
            f"Prometheus at {url} answered {response.status_code} without JSON: "
            f"{response.text[:200]}"
        ) from None
    if response.status_code != 200 or body.get("status") != "success":
        raise SourceError(
            f"Prometheus at {url} refused the query ({response.status_code} "
            f"{body.get('errorType', 'error')}): {body.get('error', response.text[:200])}"
        )
    data = body.get("data") or {}
    if body.get("warnings"):
        data = {**data, "warnings": body["warnings"]}
    return data


def measure_prometheus(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    url = ctx.prometheus_url.rstrip("/")
    promql = resolve_query(gate, ctx)
    query = f"{promql} @ {url}"
    data = prometheus_instant(url, promql, ctx.now)
    detail: dict[str, Any] = {"backend": "prometheus", "window": resolve_window(gate, ctx)}
    if data.get("warnings"):
        detail["warnings"] = data["warnings"]
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar":
        raw = result[1]
    elif kind == "vector":
        if not result:
            return Measurement(None, query, "no data: the query returned no series", detail)
        if len(result) > 1:
            labels = [row.get("metric", {}) for row in result[:5]]
            raise SourceError(
                f"the query returned {len(result)} series, a gate needs one "
                f"(wrap it in sum()): {labels}"
            )
        raw = result[0]["value"][1]
    else:
        raise SourceError(f"the query returned a {kind}, a gate needs an instant vector or scalar")
    value = float(raw)
    if not math.isfinite(value):
        return Measurement(
            None, query, f"no data: {raw} (no traffic counted in the window)", detail
        )
    return Measurement(value, query, "", detail)


# --- embedded --------------------------------------------------------------------------


def measure_embedded(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    indicator = sli.SLIS.get(gate.sli or "")
    if indicator is None:
        raise SourceError(
            f"gate {gate.id}: unknown sli {gate.sli!r} for the embedded source; "
            f"known: {sli.known_slis()}"
        )
    url = (ctx.target_url or settings.SOAK_SELF_URL).rstrip("/")
    rows = list(
        MetricScrape.objects.filter(
            run_id=ctx.run_id, taken_at__gte=ctx.window_start, taken_at__lte=ctx.now
        )
        .order_by("taken_at")
        .values_list("taken_at", "ok", "error", "samples")
    )
    if rows and not rows[-1][1]:
        # The sentinel scrapes just before it measures: the target is not answering now.
        taken_at, _, error, _ = rows[-1]
        raise SourceError(
            f"the latest scrape of {url}/metrics failed at {taken_at:%Y-%m-%d %H:%M:%S}: {error}"
        )
    ok = [(taken_at, samples) for taken_at, is_ok, _, samples in rows if is_ok]
    reading = sli.compute(indicator, [samples for _, samples in ok])
    first, last = (ok[0][0], ok[-1][0]) if ok else (ctx.window_start, ctx.now)
    query = (
        f"embedded: {indicator.name} from {len(ok)} scrapes between "
        f"{first:%Y-%m-%d %H:%M:%S} and {last:%Y-%m-%d %H:%M:%S} of {url}/metrics"
    )
    detail = {
        "backend": "embedded",
        "numerator": reading.numerator,
        "denominator": reading.denominator,
        "scrapes": len(ok),
        "failed_scrapes": len(rows) - len(ok),
        "counter_resets": reading.resets,
    }
    if reading.value is None:
        return Measurement(None, query, f"no data: {reading.reason}", detail)
    message = f"{reading.numerator:g} / {reading.denominator:g}"
    return Measurement(reading.value, query, message, detail)

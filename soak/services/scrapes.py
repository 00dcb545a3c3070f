"""The embedded metrics source's scrapes of the target's ``/metrics``.

The sentinel (soak core, ``soak.services.runs``) calls, at every sample
interval of a running soak and before it measures the gates::

    from soak.services.scrapes import metric_scrape_take
    metric_scrape_take(run=run)          # one MetricScrape row, ok or not

Each row keeps only the samples an SLI reads (``soak.sli.wanted``),
so 48 h of scrapes a minute stay small; ``soak.sources.metrics`` computes
the SLIs from the rows of a gate's window. A failed scrape is stored too
(``ok=False`` and the error): a hole in the data is visible, never filled in.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from django.conf import settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from soak import sli
from soak.models import MetricScrape, SoakRun


def target_base_url(run: SoakRun) -> str:
    """The run's target, or this site as the sentinel reaches it (LUKHAS_SOAK_SELF_URL)."""
    return (run.target_url or settings.SOAK_SELF_URL).rstrip("/")


def scrape_metrics_text(base_url: str) -> str:
    """``GET <base>/metrics`` with the metrics token; raises ValueError saying what failed."""
    headers = {"Accept": "text/plain"}
    if settings.SOAK_METRICS_TOKEN:
        headers["Authorization"] = f"Bearer {settings.SOAK_METRICS_TOKEN}"
    try:
        response = httpx.get(
            f"{base_url}/metrics", headers=headers, timeout=settings.SOAK_SCRAPE_TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise ValueError(
            f"{base_url}/metrics unreachable: {exc.__class__.__name__}: {exc}"
        ) from exc
    if response.status_code != 200:
        raise ValueError(
            f"{base_url}/metrics answered {response.status_code}: {response.text[:300]}"
        )
    return response.text


def metric_scrape_take(*, run: SoakRun, now: datetime | None = None) -> MetricScrape:
    """Scrape the run's target once and store what the SLIs need (a failure is stored too)."""
    taken_at = now or timezone.now()
    base_url = target_base_url(run)
    try:
        text = scrape_metrics_text(base_url)
        samples = sli.keep(text_string_to_metric_families(text))
    except ValueError as exc:
        # The parser raises ValueError on text it cannot read, as we do on HTTP failures.
        return MetricScrape.objects.create(
            run=run, taken_at=taken_at, ok=False, error=str(exc)[:2000], samples={}
        )
    return MetricScrape.objects.create(run=run, taken_at=taken_at, ok=True, samples=samples)

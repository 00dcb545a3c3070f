"""The metrics gates against a real Prometheus (Debian's) scraping a live site under traffic.

One site, one Prometheus and one burst of traffic for the whole module (the
``stack`` fixture): the official openai SDK with an allowed key, and calls
with a key that lacks the scope (Guardian denies them). Both backends of the
``metrics`` source then read the same traffic, and one parametrised test
holds them to the same cases (STYLE.md): the values we counted, no data,
and a source that is down.

Tolerance (docs/soak-sources.md): both windows hold every request of the
burst, so the embedded value is exact and Prometheus' ``increase()`` ratio
agrees within ±0.5 percentage point (its extrapolation scales numerator and
denominator alike, so it is exact in practice).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import openai
import pytest
import redis
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from guardian import services as guardian_services
from guardian.models import APIKey, Denial, Tenant
from soak import sli
from soak.gates import GateSpec
from soak.models import Release, SoakRun
from soak.services.scrapes import metric_scrape_take
from soak.sources import metrics as metrics_source
from soak.sources.base import MeasureContext, SourceError
from tests.guardian.helpers import LiveSite, free_port
from tests.prometheus import PrometheusServer
from tests.services import worker_env

pytestmark = [pytest.mark.e2e]

BACKENDS = ["prometheus", "embedded"]
TOLERANCE = 0.005  # ±0.5 percentage point (docs/soak-sources.md)
ALLOWED_CALLS = 12
DENIED_CALLS = 3


def _gate(sli_name: str, *, window: str = "soak") -> GateSpec:
    indicator = sli.SLIS[sli_name]
    return GateSpec(
        id=sli_name.replace("_", "-"),
        title=indicator.title,
        source="metrics",
        sli=sli_name,
        query=indicator.promql,
        comparator="<",
        threshold=1,
        window=window,
    )


def _direct(base: str, sample: str, **labels: str) -> float:
    """A sum read from the site's /metrics itself: the ground truth of a scrape."""
    total = 0.0
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text):
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


@dataclass
class Stack:
    site: LiveSite
    prometheus: PrometheusServer
    run_id: int
    started_at: datetime
    now: datetime
    denied: int
    allowed: int
    decisions: float
    pdp_fast: float
    pdp_count: float

    def ctx(self, backend: str, *, now: datetime | None = None, **extra) -> MeasureContext:
        now = now or self.now
        started_at = extra.pop("started_at", self.started_at)
        return MeasureContext(
            run_id=extra.pop("run_id", self.run_id),
            release="v0.0.1-rc",
            target_url=extra.pop("target_url", self.site.base),
            now=now,
            started_at=started_at,
            window_start=started_at,
            prometheus_url=extra.pop("prometheus_url", self.prometheus.url)
            if backend == "prometheus"
            else "",
        )


def _traffic(base: str, good: str, denied_key: str, *, allowed: int, denied: int) -> None:
    sdk = openai.OpenAI(base_url=f"{base}/v1", api_key=good, max_retries=0, timeout=30)
    refused = openai.OpenAI(base_url=f"{base}/v1", api_key=denied_key, max_retries=0, timeout=30)
    calls = [
        lambda: sdk.models.list(),
        lambda: sdk.embeddings.create(model="lukhas-embed-1", input="soak traffic"),
        lambda: sdk.chat.completions.create(
            model="matriz-echo", messages=[{"role": "user", "content": "soak traffic"}]
        ),
    ]
    for n in range(allowed):
        calls[n % len(calls)]()
    for _ in range(denied):
        # models:read only: chat needs responses:write, so the PDP denies.
        with pytest.raises(openai.PermissionDeniedError):
            refused.chat.completions.create(
                model="matriz-echo", messages=[{"role": "user", "content": "denied"}]
            )


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, prometheus_bin, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("soak-prometheus")
    prefix = f"lukhas-test:{uuid.uuid4().hex[:12]}:guardian"
    tenant_slug = f"soak-live-{uuid.uuid4().hex[:6]}"
    with django_db_blocker.unblock():
        env = worker_env(
            LUKHAS_GUARDIAN_REDIS_PREFIX=prefix,
            LUKHAS_LOG_LEVEL="WARNING",
            OTEL_TRACES_EXPORTER="none",
        )
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        site = LiveSite(env, workdir / "uvicorn.log").start()
        prometheus = PrometheusServer(prometheus_bin, workdir / "prometheus", targets=[site.base])
        try:
            prometheus.start()
            tenant = guardian_services.tenant_ensure(slug=tenant_slug)
            good, _ = guardian_services.api_key_create(
                name="soak-live", tenant=tenant, scopes=["models:read", "responses:write",
                                                         "embeddings:write"],
                requests_per_minute=10_000,
            )  # fmt: skip
            denied_key, _ = guardian_services.api_key_create(
                name="soak-live-denied", tenant=tenant, scopes=["models:read"]
            )
            release = Release.objects.create(name=f"{tenant_slug}-rc", version="0.0.1")
            run = SoakRun.objects.create(
                release=release, target_url=site.base, phase="running", planned_hours=1
            )
            # Warm-up: every series (allow and deny decisions, each route) exists
            # before the window, so Prometheus' increase() misses nothing.
            _traffic(site.base, good, denied_key, allowed=3, denied=2)
            prometheus.wait_until(
                "sum(lukhas_guardian_decisions_total)",
                _direct(site.base, "lukhas_guardian_decisions_total"),
            )
            started_at = timezone.now()
            first = metric_scrape_take(run=run)
            time.sleep(2.2)  # Prometheus samples the window's start before the burst
            _traffic(site.base, good, denied_key, allowed=ALLOWED_CALLS // 2, denied=1)
            metric_scrape_take(run=run)
            _traffic(
                site.base, good, denied_key, allowed=ALLOWED_CALLS // 2, denied=DENIED_CALLS - 1
            )
            last = metric_scrape_take(run=run)
            prometheus.wait_until(
                "sum(lukhas_guardian_decisions_total)",
                _direct(site.base, "lukhas_guardian_decisions_total"),
            )
            time.sleep(1.2)
            now = timezone.now()
            assert first.ok and last.ok, (first.error, last.error)

            def delta(key_filter) -> float:
                return sum(v for k, v in last.samples.items() if key_filter(k)) - sum(
                    v for k, v in first.samples.items() if key_filter(k)
                )

            stack = Stack(
                site=site,
                prometheus=prometheus,
                run_id=run.pk,
                started_at=started_at,
                now=now,
                denied=DENIED_CALLS,
                allowed=ALLOWED_CALLS,
                decisions=delta(sli.Selector("lukhas_guardian_decisions_total").matches),
                pdp_fast=delta(
                    sli.Selector(
                        "lukhas_guardian_pdp_duration_seconds_bucket", {"le": "0.01"}
                    ).matches
                ),
                pdp_count=delta(sli.Selector("lukhas_guardian_pdp_duration_seconds_count").matches),
            )
        except BaseException:
            prometheus.stop()
            site.stop()
            raise
    yield stack
    prometheus.stop()
    site.stop()
    with django_db_blocker.unblock():
        Release.objects.filter(name=f"{tenant_slug}-rc").delete()
        Denial.objects.filter(tenant__slug=tenant_slug).delete()
        APIKey.objects.filter(tenant__slug=tenant_slug).delete()
        Tenant.objects.filter(slug=tenant_slug).delete()
        url = env.get("LUKHAS_GUARDIAN_REDIS_URL") or env.get("REDIS_URL")
        if url:
            client = redis.Redis.from_url(url, socket_timeout=1)
            for found in client.scan_iter(match=f"{prefix}:*", count=500):
                client.delete(found)


def test_it_counts_what_the_traffic_did(stack):
    """The ground truth the backends are held to: one decision per call, each timed once."""
    assert stack.decisions == stack.allowed + stack.denied
    assert stack.pdp_count == stack.decisions
    assert 0 < stack.pdp_fast <= stack.pdp_count


@pytest.mark.django_db
@pytest.mark.parametrize("backend", BACKENDS)
def test_it_reads_the_denial_rate_and_pdp_ratio_we_made(stack, backend):
    denial = metrics_source.measure(_gate("guardian_denial_ratio"), stack.ctx(backend))
    assert denial.value == pytest.approx(stack.denied / stack.decisions, abs=TOLERANCE)
    pdp = metrics_source.measure(_gate("pdp_fast_ratio"), stack.ctx(backend))
    assert pdp.value == pytest.approx(stack.pdp_fast / stack.pdp_count, abs=TOLERANCE)
    assert denial.detail["backend"] == backend
    if backend == "prometheus":
        seconds = int((stack.now - stack.started_at).total_seconds()) + 1
        assert f"[{seconds}s]" in denial.query
        assert denial.query.endswith(f"@ {stack.prometheus.url}")
    else:
        # Exact: the embedded window is bounded by scrapes the fixture took itself.
        assert denial.value == stack.denied / stack.decisions
        assert denial.query.startswith("embedded: guardian_denial_ratio from 3 scrapes between")
        assert denial.query.endswith(f"of {stack.site.base}/metrics")


@pytest.mark.django_db
def test_it_agrees_between_backends_within_the_tolerance(stack):
    for name in ("guardian_denial_ratio", "pdp_fast_ratio"):
        embedded = metrics_source.measure(_gate(name), stack.ctx("embedded")).value
        prometheus = metrics_source.measure(_gate(name), stack.ctx("prometheus")).value
        assert embedded is not None and prometheus is not None
        assert abs(embedded - prometheus) <= TOLERANCE, name


@pytest.mark.django_db
@pytest.mark.parametrize("backend", BACKENDS)
def test_it_reads_zero_for_what_never_happened(stack, backend):
    """No 5xx ever: its series does not exist, yet the ratio is 0 (traffic was counted)."""
    measured = metrics_source.measure(_gate("http_5xx_ratio"), stack.ctx(backend))
    assert measured.value == 0.0


@pytest.mark.django_db
@pytest.mark.parametrize("backend", BACKENDS)
def test_it_has_no_data_before_any_traffic(stack, backend):
    """A window before the site existed: no series, no scrapes → None, never a value."""
    before = stack.started_at - timedelta(hours=2)
    ctx = stack.ctx(backend, now=before, started_at=before - timedelta(minutes=5))
    measured = metrics_source.measure(_gate("guardian_denial_ratio"), ctx)
    assert measured.value is None
    assert measured.message.startswith("no data")


@pytest.mark.django_db
@pytest.mark.parametrize("backend", BACKENDS)
def test_it_raises_when_the_source_is_down_mid_soak(
    stack, backend, prometheus_server, django_db_blocker
):
    gate = _gate("guardian_denial_ratio")
    if backend == "prometheus":
        own = prometheus_server(targets=[stack.site.base])
        ctx = stack.ctx(backend, prometheus_url=own.url, now=timezone.now())
        assert metrics_source.measure(gate, ctx).detail["backend"] == "prometheus"
        own.stop()
    else:
        run = SoakRun.objects.get(pk=stack.run_id)
        dead = SoakRun.objects.create(
            release=Release.objects.create(name=f"dead-{uuid.uuid4().hex[:6]}", version="0"),
            target_url=f"http://127.0.0.1:{free_port()}",
            phase="running",
        )
        for samples in run.scrapes.filter(ok=True).values_list("samples", flat=True)[:2]:
            dead.scrapes.create(taken_at=timezone.now(), samples=samples)
        assert metric_scrape_take(run=dead).ok is False
        ctx = stack.ctx(backend, run_id=dead.pk, target_url=dead.target_url, now=timezone.now())
    with pytest.raises(SourceError) as failed:
        metrics_source.measure(gate, ctx)
    assert ("unreachable" in str(failed.value)) or ("failed" in str(failed.value))


@pytest.mark.django_db
def test_it_says_what_prometheus_refused_and_treats_an_empty_answer_as_no_data(stack):
    bad = _gate("guardian_denial_ratio").model_copy(update={"query": "sum(rate(foo[{window}]"})
    with pytest.raises(SourceError) as refused:
        metrics_source.measure(bad, stack.ctx("prometheus"))
    assert "bad_data" in str(refused.value) and "parse error" in str(refused.value)

    empty = bad.model_copy(update={"query": "sum(increase(lukhas_no_such_total[{window}]))"})
    assert metrics_source.measure(empty, stack.ctx("prometheus")).value is None

    many = bad.model_copy(update={"query": "increase(lukhas_guardian_decisions_total[{window}])"})
    with pytest.raises(SourceError, match="wrap it in sum"):
        metrics_source.measure(many, stack.ctx("prometheus"))

    # A trailing window is sent as written.
    trailing = _gate("guardian_denial_ratio", window="1h")
    assert "[1h]" in metrics_source.measure(trailing, stack.ctx("prometheus")).query


@pytest.mark.django_db
def test_it_names_the_known_slis_for_an_unknown_one(stack):
    gate = _gate("guardian_denial_ratio").model_copy(update={"sli": "nope"})
    with pytest.raises(SourceError, match="known: guardian_denial_ratio, http_5xx_ratio"):
        metrics_source.measure(gate, stack.ctx("embedded"))


# Last in the module: a transactional test flushes the database the stack's rows live in.
@pytest.mark.django_db(transaction=True)
def test_it_scrapes_a_site_whose_metrics_need_the_token(live_site, prometheus_server):
    site = live_site(LUKHAS_METRICS_TOKEN="prometheus-secret")
    assert httpx.get(f"{site.base}/metrics").status_code == 401
    prometheus = prometheus_server(targets=[site.base], token="prometheus-secret")
    assert prometheus.value('up{job="lukhas"}') == 1.0
    assert prometheus.value("sum(lukhas_http_requests_total)") > 0

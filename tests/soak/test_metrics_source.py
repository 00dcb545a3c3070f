"""The embedded metrics source: SLI arithmetic (resets, label sets, no data) and its scrapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from soak import sli
from soak.gates import GateSpec, load_gates
from soak.models import MetricScrape, Release, SoakRun
from soak.services.scrapes import metric_scrape_take, target_base_url
from soak.sources import metrics as metrics_source
from soak.sources.base import MeasureContext, SourceError
from tests.guardian.helpers import free_port

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DENY = 'lukhas_guardian_decisions_total{decision="deny",reason="scope"}'
ALLOW = 'lukhas_guardian_decisions_total{decision="allow",reason="scope"}'
DENY_OTHER = 'lukhas_guardian_decisions_total{decision="deny",reason="tenant"}'
DENIAL = sli.SLIS["guardian_denial_ratio"]


def _ratio(scrapes):
    return sli.compute(DENIAL, scrapes)


class TestSampleKeys:
    def test_it_reads_back_the_keys_it_writes_with_escaped_values(self):
        labels = {"route": 'v1/"odd"\\path\nx', "method": "GET"}
        key = sli.sample_key("lukhas_http_requests_total", labels)
        assert key.startswith('lukhas_http_requests_total{method="GET",route=')
        name, pairs = sli.parse_sample_key(key)
        assert name == "lukhas_http_requests_total" and dict(pairs) == labels
        assert sli.parse_sample_key("up") == ("up", ())

    def test_it_keeps_only_the_samples_an_sli_reads(self):
        registry = CollectorRegistry()
        decisions = Counter(
            "lukhas_guardian_decisions", "d", ["decision", "reason"], registry=registry
        )
        pdp = Histogram(
            "lukhas_guardian_pdp_duration_seconds", "p", buckets=(0.001, 0.01), registry=registry
        )
        http = Histogram(
            "lukhas_http_request_duration_seconds",
            "h",
            ["route", "method", "status"],
            buckets=(0.1, 0.25, 1),
            registry=registry,
        )
        Counter("lukhas_other", "not read", registry=registry).inc()
        decisions.labels("deny", "scope").inc(2)
        pdp.observe(0.0001)
        pdp.observe(0.5)
        http.labels("v1/models", "GET", "2xx").observe(0.05)
        http.labels("api/tasks", "GET", "2xx").observe(0.05)
        text = generate_latest(registry).decode()

        kept = sli.keep(text_string_to_metric_families(text))

        assert kept == {
            DENY: 2.0,
            'lukhas_guardian_pdp_duration_seconds_bucket{le="0.01"}': 1.0,
            "lukhas_guardian_pdp_duration_seconds_count": 2.0,
            'lukhas_http_request_duration_seconds_bucket{le="0.25",method="GET",'
            'route="v1/models",status="2xx"}': 1.0,
            'lukhas_http_request_duration_seconds_count{method="GET",route="v1/models",'
            'status="2xx"}': 1.0,
        }


class TestIncrease:
    def test_it_sums_the_deltas_of_every_label_set(self):
        # Reasons, and the processes a multiprocess /metrics already merged: all summed.
        scrapes = [
            {DENY: 1, DENY_OTHER: 4, ALLOW: 100},
            {DENY: 2, DENY_OTHER: 6, ALLOW: 150},
            {DENY: 3, DENY_OTHER: 6, ALLOW: 297},
        ]
        reading = _ratio(scrapes)
        assert (reading.numerator, reading.denominator) == (4, 4 + 197)
        assert reading.value == pytest.approx(4 / 201)
        assert reading.resets == 0

    def test_it_treats_a_drop_as_a_restart_like_prometheus_increase(self):
        # 10 → 14 (+4), restart, 3 (+3), 5 (+2): 9 in all, as increase() counts it.
        scrapes = [{ALLOW: 10, DENY: 1}, {ALLOW: 14, DENY: 1}, {ALLOW: 3}, {ALLOW: 5, DENY: 1}]
        reading = _ratio(scrapes)
        # The deny series went with the restart and came back at 1: one new denial.
        assert (reading.numerator, reading.denominator) == (1, 9 + 1)
        assert reading.resets == 1

    def test_it_counts_a_series_born_in_the_window_from_zero(self):
        reading = _ratio([{ALLOW: 10}, {ALLOW: 12, DENY: 2}])
        assert (reading.numerator, reading.denominator) == (2, 4)

    def test_it_counts_a_series_that_came_back_from_zero(self):
        # DENY vanished with a restart and came back at 3: three new denials, not two.
        reading = _ratio([{ALLOW: 10, DENY: 1}, {ALLOW: 11}, {ALLOW: 12, DENY: 3}])
        assert (reading.numerator, reading.denominator) == (3, 2 + 3)

    @pytest.mark.parametrize(
        ("scrapes", "reason"),
        [
            ([], "0 scrape(s): need 2"),
            ([{ALLOW: 5, DENY: 1}], "1 scrape(s): need 2"),
            ([{ALLOW: 5, DENY: 1}, {ALLOW: 5, DENY: 1}], "no traffic counted"),
        ],
    )
    def test_it_has_no_value_without_two_scrapes_or_traffic(self, scrapes, reason):
        reading = _ratio(scrapes)
        assert reading.value is None and reading.reason == reason

    def test_it_reads_zero_when_the_numerator_never_happened(self):
        assert _ratio([{ALLOW: 5}, {ALLOW: 9}]).value == 0.0

    def test_its_promql_is_the_gates_file_query(self):
        gates = load_gates(Path(settings.BASE_DIR) / "configs/soak/ga_gates.yaml")
        metric_gates = [g for g in gates.gates if g.source == "metrics"]
        assert metric_gates
        for gate in metric_gates:
            assert " ".join(gate.query.split()) == sli.SLIS[gate.sli].promql, gate.id


def _ctx(run_id: int, now: datetime, *, window_start: datetime = T0) -> MeasureContext:
    return MeasureContext(
        run_id=run_id,
        release="v1-rc",
        target_url="http://127.0.0.1:9",
        now=now,
        started_at=T0,
        window_start=window_start,
    )


def _gate(**changes) -> GateSpec:
    fields = {
        "id": "denials",
        "title": "denials",
        "source": "metrics",
        "sli": "guardian_denial_ratio",
        "query": DENIAL.promql,
        "comparator": "<",
        "threshold": 0.01,
    }
    return GateSpec(**{**fields, **changes})


@pytest.fixture
def run(db):
    release = Release.objects.create(name="v1-rc", version="1")
    return SoakRun.objects.create(release=release, phase="running", started_at=T0)


def _scrape(run, minutes: float, samples: dict, *, ok: bool = True, error: str = ""):
    return MetricScrape.objects.create(
        run=run, taken_at=T0 + timedelta(minutes=minutes), ok=ok, error=error, samples=samples
    )


class TestEmbeddedMeasure:
    def test_it_measures_the_window_and_says_how(self, run):
        _scrape(run, -5, {ALLOW: 0, DENY: 0})  # before the window: not read
        _scrape(run, 1, {ALLOW: 10, DENY: 0})
        _scrape(run, 30, {ALLOW: 100, DENY: 1}, ok=False, error="timeout")  # a hole, skipped
        _scrape(run, 59, {ALLOW: 207, DENY: 3})
        measured = metrics_source.measure(_gate(), _ctx(run.pk, T0 + timedelta(hours=1)))
        assert measured.value == pytest.approx(3 / 200)
        assert measured.query == (
            "embedded: guardian_denial_ratio from 2 scrapes between 2026-03-01 12:01:00 and "
            "2026-03-01 12:59:00 of http://127.0.0.1:9/metrics"
        )
        assert measured.detail["failed_scrapes"] == 1
        assert measured.message == "3 / 200"

    def test_it_reads_a_trailing_window_only(self, run):
        _scrape(run, 1, {ALLOW: 10, DENY: 0})
        _scrape(run, 40, {ALLOW: 20, DENY: 5})
        _scrape(run, 59, {ALLOW: 30, DENY: 5})
        now = T0 + timedelta(hours=1)
        measured = metrics_source.measure(
            _gate(window="30m"), _ctx(run.pk, now, window_start=now - timedelta(minutes=30))
        )
        assert measured.value == 0.0  # 10 allowed, no denial in the last 30 minutes

    def test_it_has_no_data_with_one_scrape(self, run):
        _scrape(run, 1, {ALLOW: 10, DENY: 0})
        measured = metrics_source.measure(_gate(), _ctx(run.pk, T0 + timedelta(hours=1)))
        assert measured.value is None
        assert measured.message == "no data: 1 scrape(s): need 2"

    def test_it_raises_when_the_latest_scrape_failed(self, run):
        _scrape(run, 1, {ALLOW: 10, DENY: 0})
        _scrape(run, 2, {ALLOW: 20, DENY: 0})
        _scrape(run, 3, {}, ok=False, error="http://127.0.0.1:9/metrics unreachable: refused")
        with pytest.raises(SourceError, match=r"latest scrape .* failed at 2026-03-01 12:03:00"):
            metrics_source.measure(_gate(), _ctx(run.pk, T0 + timedelta(hours=1)))

    def test_it_names_the_known_slis(self, run):
        with pytest.raises(SourceError) as unknown:
            metrics_source.measure(_gate(sli="p99"), _ctx(run.pk, T0))
        assert str(unknown.value).endswith(f"known: {sli.known_slis()}")
        assert "pdp_fast_ratio" in sli.known_slis()

    def test_it_rounds_the_soak_window_up_to_whole_seconds(self):
        ctx = _ctx(1, T0 + timedelta(seconds=3722, microseconds=200_000))
        assert metrics_source.resolve_window(_gate(), ctx) == "3723s"
        assert "[3723s]" in metrics_source.resolve_query(_gate(), ctx)
        assert metrics_source.resolve_window(_gate(window="24h"), ctx) == "24h"


class TestScrape:
    def test_it_stores_a_failed_scrape_with_its_error(self, run):
        run.target_url = f"http://127.0.0.1:{free_port()}"
        scrape = metric_scrape_take(run=run, now=T0)
        assert (scrape.ok, scrape.samples, scrape.taken_at) == (False, {}, T0)
        assert "unreachable" in scrape.error

    def test_it_scrapes_this_site_by_default(self, run, settings):
        settings.SOAK_SELF_URL = "http://127.0.0.1:8123/"
        assert target_base_url(run) == "http://127.0.0.1:8123/".rstrip("/")
        run.target_url = "http://other:9000/"
        assert target_base_url(run) == "http://other:9000"

    @pytest.mark.e2e
    @pytest.mark.django_db(transaction=True)
    def test_it_sends_the_metrics_token_and_keeps_what_the_slis_read(self, live_site, settings):
        site = live_site(LUKHAS_METRICS_TOKEN="scrape-secret")
        release = Release.objects.create(name="v2-rc", version="2")
        run = SoakRun.objects.create(release=release, target_url=site.base, phase="running")
        httpx.get(f"{site.base}/v1/models")  # a 401: Guardian counts no decision, HTTP does

        settings.SOAK_METRICS_TOKEN = "wrong"
        refused = metric_scrape_take(run=run)
        assert not refused.ok and "answered 401" in refused.error

        settings.SOAK_METRICS_TOKEN = "scrape-secret"
        scrape = metric_scrape_take(run=run)
        assert scrape.ok, scrape.error
        assert scrape.samples
        assert all(sli.wanted(key) for key in scrape.samples)
        assert any(key.startswith("lukhas_http_requests_total{") for key in scrape.samples)
        assert not any("_sum" in key or "_created" in key for key in scrape.samples)

"""The day's health artifact: real values only, unknown as null/"unknown", sha256 recorded."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from guardian.models import Denial
from soak import services
from tests.soak import scripted_source
from tests.soak.http_peer import http_peer

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

GATES = """
version: "art"
gates:
  - id: no-page-alerts
    title: No page alerts
    source: alerts
    comparator: "=="
    threshold: 0
    severity: critical
  - id: guardian-denial-rate
    title: denial rate
    source: metrics
    sli: guardian_denial_ratio
    query: deny / all
    comparator: "<"
    threshold: 0.01
  - id: pdp-p95
    title: PDP p95
    source: metrics
    sli: pdp_fast_ratio
    query: fast / all
    comparator: ">="
    threshold: 0.95
  - id: facade-smoke
    title: smoke
    source: probe
    probe: facade_smoke
    comparator: "=="
    threshold: 1
"""


@pytest.fixture
def stubbed(monkeypatch, gates_file):
    gates_file(GATES)
    for kind in ("metrics", "probe"):
        monkeypatch.setitem(services.runs.sources.SOURCES, kind, scripted_source.measure)
    readings = {"guardian-denial-rate": 0.002, "pdp-p95": 0.97, "facade-smoke": 1.0}
    monkeypatch.setattr(scripted_source, "READINGS", readings)
    return readings


def prometheus_answer(request):
    if request.path == "/-/ready":
        return 200, "Prometheus Server is Ready."
    return 200, {"status": "success", "data": {"resultType": "vector", "result": []}}


def test_it_writes_the_days_artifact_with_real_values(stubbed, settings):
    with http_peer(prometheus_answer) as prom, http_peer(lambda r: (200, {"ok": 1})) as grafana:
        settings.SOAK_PROMETHEUS_URL, settings.SOAK_GRAFANA_URL = prom.url, grafana.url
        with time_machine.travel(T0, tick=False):
            run = services.soak_start(release="v0.9.0-rc")
            Denial.objects.create(kind="policy", reason="scope")
        with time_machine.travel(T0 + timedelta(hours=26), tick=False):
            Denial.objects.create(kind="policy", reason="scope")
            Denial.objects.create(kind="rate_limit", reason="rpm")
            snapshot = services.snapshot_take(run=run, by_label="test")
    root = Path(settings.SOAK_ARTIFACTS_DIR)
    folder = root / "docs/audits/health/2026-03-03"
    assert sorted(p.name for p in folder.iterdir()) == ["latest.json", "latest.md"]
    assert [a["path"] for a in snapshot.artifacts] == [
        "docs/audits/health/2026-03-03/latest.json",
        "docs/audits/health/2026-03-03/latest.md",
    ]
    for artifact in snapshot.artifacts:
        data = (root / artifact["path"]).read_bytes()
        assert artifact["sha256"] == hashlib.sha256(data).hexdigest()
        assert b"TBD" not in data
    report = json.loads((folder / "latest.json").read_text())
    figures = report["figures"]
    assert figures["prometheus_up"] is True
    assert figures["grafana_up"] is True
    assert figures["facade_smoke_passed"] is True
    assert figures["facade_up"] is False  # nothing listens on the default target in tests
    assert figures["guardian_denials_24h"] == 2  # the first denial is 26 h old
    assert figures["guardian_denial_ratio"] == 0.002
    assert figures["pdp_fast_ratio"] == 0.97
    assert figures["pdp_p95_under_10ms"] is True
    assert figures["pdp_p95_seconds"] is None  # the stub gives no p95: unknown, not guessed
    assert report["release"] == "v0.9.0-rc" and report["snapshot"] == snapshot.pk
    assert {g["id"]: g["phase"] for g in report["gates"]} == {
        "no-page-alerts": "successful",
        "guardian-denial-rate": "successful",
        "pdp-p95": "successful",
        "facade-smoke": "successful",
    }
    markdown = (folder / "latest.md").read_text()
    assert "| pdp_p95_seconds | unknown |" in markdown
    assert "| prometheus_up | yes |" in markdown
    assert "pdp-p95: 0.97 >= 0.95 over the soak (query scripted(pdp-p95)) → successful" in markdown


def test_it_writes_unknown_when_nothing_is_measured(stubbed, settings):
    stubbed.update({"guardian-denial-rate": None, "pdp-p95": None, "facade-smoke": None})
    with time_machine.travel(T0, tick=False):
        run = services.soak_start(release="v0.9.0-rc", target_url="http://127.0.0.1:9")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        snapshot = services.snapshot_take(run=run, by_label="test")
    assert snapshot.complete is False
    root = Path(settings.SOAK_ARTIFACTS_DIR)
    report = json.loads((root / snapshot.artifacts[0]["path"]).read_text())
    figures = report["figures"]
    for name in (
        "prometheus_up", "grafana_up", "facade_smoke_passed", "guardian_denials_24h",
        "guardian_denial_ratio", "pdp_fast_ratio", "pdp_p95_under_10ms",
    ):  # fmt: skip
        assert figures[name] is None, name
    assert figures["facade_up"] is False  # the target answered nothing: a real "no"
    markdown = (root / snapshot.artifacts[1]["path"]).read_text()
    assert "| pdp_fast_ratio | unknown |" in markdown
    assert "TBD" not in markdown

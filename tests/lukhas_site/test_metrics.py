"""/metrics: route-template labels, optional token, several processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lukhas_site import metrics
from tests.services import REPO

pytestmark = pytest.mark.django_db


def test_it_labels_requests_by_route_template_never_raw_path(bob_client, client):
    bob_client.get("/admin/auth/user/987654/change/")
    client.get("/v1/models/ghost-model-31337")
    text = client.get("/metrics").content.decode()
    assert "lukhas_http_requests_total" in text
    assert (
        'lukhas_http_requests_total{method="GET",route="admin/auth/user/<path:object_id>/change/"'
        in text
    )
    assert 'status="2xx"' in text or 'status="3xx"' in text
    # The raw path segments never become label values (bare digits could
    # collide with sample values and timestamps, so look for the paths).
    assert "user/987654" not in text
    assert "ghost-model-31337" not in text
    assert "lukhas_http_request_duration_seconds_bucket" in text


def test_it_counts_status_classes(client):
    before = _sample(client, route="healthz", status="2xx")
    client.get("/healthz")
    client.get("/healthz")
    assert _sample(client, route="healthz", status="2xx") == before + 2


def _sample(client, *, route: str, status: str) -> float:
    text = client.get("/metrics").content.decode()
    prefix = f'lukhas_http_requests_total{{method="GET",route="{route}",status="{status}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


def test_it_requires_the_metrics_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-secret-1234567890"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-1234567890")
    assert ok.status_code == 200
    assert b"lukhas_http_requests_total" in ok.content


def test_it_adds_up_counters_of_several_processes(tmp_path, monkeypatch):
    """Two web processes each count requests; one scrape sees the sum."""
    child = (
        "from lukhas_site import metrics\n"
        "metrics.http_requests_total.labels('api/things/<int:pk>', 'GET', '2xx').inc(3)\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", child], cwd=REPO, env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    body, content_type = metrics.render_latest()
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert (
        'lukhas_http_requests_total{method="GET",route="api/things/<int:pk>",status="2xx"} 6.0'
        in text
    )

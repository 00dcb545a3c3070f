"""The MATRIZ page: pipeline, breakers, plugins, indexes, latency charts, test queries."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from matriz.charts import latency_snapshot

pytestmark = pytest.mark.django_db

URL = "/matriz/"


def _figure(html: str, element_id: str) -> dict:
    match = re.search(
        rf'<script type="application/json" id="{element_id}"[^>]*>(.*?)</script>', html
    )
    assert match, element_id
    return json.loads(match.group(1))


def test_it_sends_anonymous_users_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_stages_nodes_breakers_plugins_and_indexes(alice_client, make_index):
    make_index(texts=["The canary rollout stopped at 5 percent."])
    html = alice_client.get(URL).content.decode()
    for stage in ("memory", "attention", "thought", "action", "decision", "awareness"):
        assert f'data-stage="{stage}"' in html
    assert 'data-node="memory.recall"' in html
    assert "class_as_factory: built with the runtime&#x27;s store" in html
    assert 'data-breaker="closed"' in html and 'class="badge ok"' in html
    assert 'data-plugin="node:thought.compose"' in html and "factory_method" in html
    assert 'data-index="acme/notes"' in html
    assert "critical: stops the query" in html  # the action stage
    assert "vendor/plotly.min.js" in html and "cdn." not in html.lower()
    percentiles = _figure(html, "fig-percentiles")
    assert [trace["name"] for trace in percentiles["data"]] == ["p50", "p95", "p99"]
    assert percentiles["data"][0]["x"][-1] == "end-to-end"
    assert _figure(html, "fig-distribution")["layout"]["xaxis"]["type"] == "log"


def test_it_runs_a_test_query_and_charts_its_real_latency(bob_client, make_index, settings):
    # Hashing scores the unrelated line 0, so the answer is exactly the canary line.
    settings.MATRIZ_EMBEDDER = "hashing"
    index = make_index(texts=["The canary rollout stopped at 5 percent.", "Guardian denied it."])
    before = latency_snapshot()
    response = bob_client.post(
        URL, {"index": index.pk, "text": "why did the canary stop?", "top_k": 3}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="mz-result" data-status="ok"' in html
    assert "The canary rollout stopped at 5 percent. (sources: mem_" in html
    for stage in ("memory", "attention", "thought", "action", "decision", "awareness"):
        assert f'data-chain="{stage}"' in html
    after = latency_snapshot()
    assert after.end_to_end.count == before.end_to_end.count + 1
    assert after.stages["memory"].count == before.stages["memory"].count + 1
    assert f"Latency per stage ({after.queries} quer" in html
    p95 = _figure(html, "fig-percentiles")["data"][1]["y"]
    assert all(value is not None and value > 0 for value in p95)


def test_it_shows_form_errors_instead_of_running(bob_client, make_index):
    index = make_index(texts=["a memory"])
    response = bob_client.post(URL, {"index": index.pk, "text": "", "top_k": 500})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="mz-result"' not in html
    assert "This field is required." in html
    assert "less than or equal to 50" in html


def test_it_lets_only_users_who_may_see_memories_run_queries(alice_client, make_index):
    index = make_index(texts=["a private memory"])
    page = alice_client.get(URL).content.decode()
    assert "disabled" in page and "Can view memory item" in page
    response = alice_client.post(URL, {"index": index.pk, "text": "private", "top_k": 3})
    assert response.status_code == 403
    assert "a private memory" not in response.content.decode()


@pytest.mark.parametrize("indexes", [1, 5])
def test_it_pins_the_page_query_count(bob_client, make_index, django_assert_num_queries, indexes):
    for n in range(indexes):
        make_index(f"index-{n}", texts=["a memory"])
    # session, user, the index table, the recent dreams: however many indexes there are.
    with django_assert_num_queries(4):
        assert bob_client.get(URL).status_code == 200

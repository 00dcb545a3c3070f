"""MATRIZ metrics on /metrics, in one process and added up across several."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from lukhas_site import metrics as site_metrics
from matriz import metrics, services
from matriz.runtime import run_query

pytestmark = pytest.mark.django_db


def test_it_merges_every_gauge_meaningfully_across_processes():
    modes = {
        "matriz_breaker_state": "livemax",
        "matriz_memory_items": "livemax",
        "matriz_memory_stored_items": "mostrecent",
        "matriz_memory_last_fold_timestamp_seconds": "mostrecent",
    }
    for name, mode in modes.items():
        assert REGISTRY._names_to_collectors[name]._multiprocess_mode == mode, name
    assert metrics.STAGE_TOTAL is REGISTRY._names_to_collectors["matriz_stage_total"]


def test_it_exposes_stage_memory_and_fold_figures_on_metrics(client, make_index):
    index = make_index(texts=["The canary stopped.", "The canary stopped!", "Guardian said no."])
    run_query(text="canary", indexes=["notes"], owner="acme")
    services.fold_index(index=index)
    text = client.get("/metrics").content.decode()
    assert 'matriz_stage_total{stage="memory"}' in text
    assert 'matriz_stage_duration_seconds_bucket{le="5e-05",stage="memory"}' in text
    assert "matriz_end_to_end_seconds_count" in text
    assert 'matriz_breaker_state{node="memory.recall"} 0.0' in text
    assert 'matriz_memory_items{index="acme/notes"} 3.0' in text  # loaded before the fold
    assert "matriz_memory_folds_total" in text
    assert 'matriz_index_sync_total{outcome="full"}' in text


@pytest.mark.django_db(transaction=True)
def test_it_adds_up_the_figures_of_several_processes(
    make_index, other_process, tmp_path, monkeypatch
):
    # "the canary stopped." is the first in other case: one vector for either embedder, so one fold.
    make_index(texts=["The canary stopped.", "the canary stopped.", "Guardian said no."])
    code = """
        from matriz import selectors, services
        from matriz.runtime import run_query
        run_query(text="canary", indexes=["notes"], owner="acme")
        services.fold_index(index=selectors.index_get(owner="acme", name="notes"))
    """
    for _ in range(2):
        other_process(code, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = site_metrics.render_latest()[0].decode()
    assert 'matriz_stage_total{stage="memory"} 2.0' in text
    assert "matriz_end_to_end_seconds_count 2.0" in text
    assert 'matriz_memory_stored_items{index="acme/notes"} 2.0' in text  # after the first fold
    assert "matriz_memory_folds_total 2.0" in text
    assert "matriz_memory_fold_absorbed_total 1.0" in text  # the second fold found nothing

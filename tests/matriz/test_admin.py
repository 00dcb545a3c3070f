"""The admin of MATRIZ: indexes through the services, items read-only with a vector summary."""

from __future__ import annotations

import pytest

from matriz import services
from matriz.models import FoldRecord, MemoryIndexModel, MemoryItemModel

pytestmark = pytest.mark.django_db
# A copy in other case: the same vector for both embedders (MiniLM is uncased), so it folds.
CASE_COPY = "the canary stopped."


def test_it_lists_indexes_items_folds_and_dreams(bob_client, make_index):
    index = make_index(texts=["The canary stopped.", CASE_COPY])
    services.fold_index(index=index)
    services.dream_submit(index=index, seed="why?")
    for model in ("memoryindexmodel", "memoryitemmodel", "foldrecord", "dream"):
        response = bob_client.get(f"/admin/matriz/{model}/")
        assert response.status_code == 200, model
    html = bob_client.get("/admin/matriz/memoryitemmodel/").content.decode()
    assert "folded into mem_" in html


def test_it_shows_an_item_vector_as_its_size_and_norm(bob_client, make_index):
    index = make_index(texts=["The canary stopped."])
    item = MemoryItemModel.objects.get(index=index)
    html = bob_client.get(f"/admin/matriz/memoryitemmodel/{item.pk}/change/").content.decode()
    assert "384 dimensions, norm 1.0000" in html
    assert 'name="text"' not in html  # read-only


def test_it_creates_indexes_through_the_service_and_shows_its_refusals(bob_client, make_index):
    form = {
        "owner": "acme",
        "name": "fresh",
        "embedder": "hashing",
        "dimension": 384,
        "metadata": "{}",
    }
    response = bob_client.post("/admin/matriz/memoryindexmodel/add/", form)
    assert response.status_code == 302
    created = MemoryIndexModel.objects.get(owner="acme", name="fresh")
    assert created.public_id.startswith("idx_")
    refused = bob_client.post(
        "/admin/matriz/memoryindexmodel/add/", {**form, "name": "Not Valid", "embedder": "hashing"}
    )
    assert refused.status_code == 200
    assert "index name &#x27;Not Valid&#x27; is not valid" in refused.content.decode()


def test_it_folds_from_the_admin_action(bob_client, make_index):
    index = make_index(texts=["The canary stopped.", CASE_COPY])
    response = bob_client.post(
        "/admin/matriz/memoryindexmodel/",
        {"action": "fold_now", "_selected_action": [index.pk]},
        follow=True,
    )
    assert "2 → 1 memories (1 absorbed)" in response.content.decode()
    assert FoldRecord.objects.get(index=index).trigger == "manual"


def test_it_keeps_outsiders_out(client, charlie):
    client.force_login(charlie)
    assert client.get("/admin/matriz/memoryitemmodel/").status_code == 302

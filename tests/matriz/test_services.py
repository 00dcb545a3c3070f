"""Indexes and items through the services: add, replace, delete, query with filters, versions."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import IntegrityError, transaction

from lukhas_site.errors import Conflict, InvalidRequest, NotFound
from matriz import selectors, services
from matriz.models import MemoryIndexModel, MemoryItemModel

pytestmark = pytest.mark.django_db

RELEASE_NOTES = [
    {"text": "The canary rollout stopped at 5 percent.", "metadata": {"team": "release"}},
    {"text": "Guardian denied the key without a scope.", "metadata": {"team": "guardian"}},
    {"text": "The soak run held p95 under budget for 48 hours.", "metadata": {"team": "release"}},
]


def test_it_creates_an_index_per_owner_and_refuses_a_taken_name(make_index):
    index = make_index("notes", owner="acme")
    assert index.public_id.startswith("idx_")
    assert (index.version, index.item_count, index.dimension, index.embedder) == (
        0,
        0,
        384,
        "minilm",  # the default embedder
    )
    assert make_index("notes", owner="globex").pk != index.pk  # same name, another owner
    with pytest.raises(Conflict, match="already has a memory index named 'notes'"):
        make_index("notes", owner="acme")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name"}, "index name 'Bad Name' is not valid"),
        ({"owner": "a/b"}, "owner 'a/b' is not a valid key"),
        ({"embedder": "word2vec"}, "unknown embedder 'word2vec'"),
        ({"embedder": "onnx-minilm"}, "LUKHAS_MATRIZ_ONNX_MODEL_DIR"),
        ({"dimension": 4}, "dimension must be an integer from 8 to 4096"),
        ({"metadata": {"folded_ids": []}}, "may not set folded_ids"),
    ],
)
def test_it_refuses_an_index_it_could_not_serve(kwargs, message):
    args = {"owner": "acme", "name": "notes", **kwargs}
    with pytest.raises(InvalidRequest, match=message):
        services.index_create(**args)


def test_it_keeps_owner_and_name_unique_in_the_database(make_index):
    make_index("notes")
    with pytest.raises(IntegrityError), transaction.atomic():
        MemoryIndexModel.objects.create(owner="acme", name="notes")


def test_it_adds_items_with_embeddings_and_bumps_the_version_once_per_write(make_index):
    index = make_index()
    written = services.items_add(index=index, items=RELEASE_NOTES)
    assert (written.created, written.updated, written.unchanged) == (3, 0, 0)
    assert all(item_id.startswith("mem_") for item_id in written.ids)
    index.refresh_from_db()
    assert (index.version, index.item_count, index.writes_since_fold) == (1, 3, 3)
    rows = list(MemoryItemModel.objects.filter(index=index).order_by("pk"))
    assert {row.version for row in rows} == {1}
    vector = rows[0].vector_array()
    assert vector.shape == (384,)
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)

    services.items_add(index=index, items=[{"text": "one more memory about releases"}])
    index.refresh_from_db()
    assert (index.version, index.item_count) == (2, 4)


def test_it_replaces_by_id_and_changes_nothing_when_nothing_changed(make_index):
    index = make_index()
    services.items_add(index=index, items=[{"id": "n1", "text": "first take"}])
    same = services.items_add(index=index, items=[{"id": "n1", "text": "first take"}])
    assert (same.created, same.updated, same.unchanged, same.version) == (0, 0, 1, 1)
    index.refresh_from_db()
    assert index.version == 1

    changed = services.items_add(
        index=index, items=[{"id": "n1", "text": "second take", "metadata": {"v": 2}}]
    )
    assert (changed.created, changed.updated) == (0, 1)
    index.refresh_from_db()
    assert (index.version, index.item_count) == (2, 1)
    row = MemoryItemModel.objects.get(index=index, public_id="n1")
    assert (row.text, row.metadata, row.version) == ("second take", {"v": 2}, 2)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([], "items is empty"),
        ("just text", "items must be a list"),
        ([{"text": ""}], r"items\[0\].text must be a non-empty string"),
        ([{"text": "ok"}, {"text": "ok", "colour": "red"}], r"items\[1\] has unknown field"),
        ([{"text": "a", "id": "x"}, {"text": "b", "id": "x"}], "appears twice in this batch"),
        ([{"text": "a", "id": "no spaces"}], r"items\[0\].id 'no spaces' is not valid"),
        ([{"text": "a", "metadata": {"folded_texts": []}}], "folding writes those keys"),
        ([{"text": "a", "metadata": {"x": float("nan")}}], "is not plain JSON"),
    ],
)
def test_it_says_what_is_wrong_with_a_batch(make_index, items, message):
    index = make_index()
    with pytest.raises(InvalidRequest, match=message):
        services.items_add(index=index, items=items)
    index.refresh_from_db()
    assert index.version == 0


def test_it_caps_the_batch_and_the_text(make_index, settings):
    settings.MATRIZ_MAX_BATCH = 2
    settings.MATRIZ_MAX_TEXT_CHARS = 10
    index = make_index()
    with pytest.raises(InvalidRequest, match="the limit is 2"):
        services.items_add(index=index, items=[{"text": "a"}] * 3)
    with pytest.raises(InvalidRequest, match="has 11 characters; the limit is 10"):
        services.items_add(index=index, items=[{"text": "x" * 11}])


def test_it_deletes_into_tombstones_and_revives_an_id(make_index):
    index = make_index()
    services.items_add(
        index=index, items=[{"id": "keep", "text": "stays"}, {"id": "gone", "text": "goes away"}]
    )
    assert services.items_delete(index=index, ids=["gone"]) == 1
    index.refresh_from_db()
    assert (index.version, index.item_count) == (2, 1)
    tombstone = MemoryItemModel.objects.get(index=index, public_id="gone")
    assert tombstone.deleted_at is not None
    assert (tombstone.text, tombstone.metadata, bytes(tombstone.vector), tombstone.version) == (
        "",
        {},
        b"",
        2,
    )
    # A retried delete is not an error and changes nothing.
    assert services.items_delete(index=index, ids=["gone"]) == 0
    index.refresh_from_db()
    assert index.version == 2
    with pytest.raises(NotFound, match="no memory 'ghost' in index 'acme/notes'"):
        services.items_delete(index=index, ids=["keep", "ghost"])
    assert MemoryItemModel.objects.get(public_id="keep").deleted_at is None  # nothing deleted

    services.items_add(index=index, items=[{"id": "gone", "text": "is back"}])
    index.refresh_from_db()
    assert index.item_count == 2
    assert MemoryItemModel.objects.get(public_id="gone").is_live


def test_it_queries_top_k_with_metadata_filters_through_the_engine(make_index):
    index = make_index()
    services.items_add(index=index, items=RELEASE_NOTES)
    hits = selectors.index_query(index=index, text="canary rollout", top_k=2)
    assert hits[0].text == "The canary rollout stopped at 5 percent."
    assert len(hits) == 2
    assert hits[0].score >= hits[1].score

    guardian_only = selectors.index_query(index=index, text="canary", filters={"team": "guardian"})
    assert [hit.text for hit in guardian_only] == ["Guardian denied the key without a scope."]
    not_release = selectors.index_query(
        index=index, text="soak", filters={"team": {"$nin": ["release"]}}
    )
    assert {hit.metadata["team"] for hit in not_release} == {"guardian"}
    assert selectors.index_query(index=index, text="canary", filters={"team": "ops"}) == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ("team=release", "filters must be an object"),
        ({"team": {"$regex": "rel.*"}}, r"unknown operator\(s\) \$regex"),
        ({"team": {"$in": "release"}}, r"\$in needs a list"),
    ],
)
def test_it_refuses_filters_the_engine_does_not_speak(make_index, filters, message):
    index = make_index(texts=["anything at all"])
    with pytest.raises(InvalidRequest, match=message):
        selectors.index_query(index=index, text="anything", filters=filters)


def test_it_deletes_an_index_with_its_items_and_fails_its_queued_dreams(make_index):
    from matriz.models import Dream, DreamStatus

    index = make_index(texts=["one memory"])
    dream = services.dream_submit(index=index, seed="what happened?")
    services.index_delete(index=index)
    assert not MemoryIndexModel.objects.filter(pk=index.pk).exists()
    assert not MemoryItemModel.objects.filter(index_id=index.pk).exists()
    dream = Dream.objects.get(pk=dream.pk)
    assert dream.status == DreamStatus.FAILED
    assert "was deleted before the dream ran" in dream.error
    assert dream.index is None and dream.index_name == "notes"
    with pytest.raises(NotFound):
        selectors.index_get(owner="acme", name="notes")


def test_it_hides_other_owners_indexes_and_dreams(make_index):
    index = make_index(owner="acme")
    dream = services.dream_submit(index=index, seed="seed")
    with pytest.raises(NotFound):
        selectors.index_get(owner="globex", name="notes")
    with pytest.raises(NotFound):
        selectors.dream_get(owner="globex", public_id=dream.public_id)
    assert selectors.dream_get(owner="acme", public_id=dream.public_id) == dream

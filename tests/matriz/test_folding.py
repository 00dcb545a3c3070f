"""Folding through the services and the task: invariants, idempotence, single flight, triggers."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from lukhas_site.errors import Conflict
from matriz import services, tasks
from matriz.models import FoldRecord, FoldTrigger, MemoryIndexModel, MemoryItemModel
from matriz.runtime import get_runtime, run_query

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _hashing(settings):
    """The fold groups below are the hashing embedder's: it never sees punctuation or case."""
    settings.MATRIZ_EMBEDDER = "hashing"


# Punctuation and case do not reach the hashing embedder: these are exact duplicates.
DUPLICATED = [
    {"id": "a1", "text": "The canary rollout stopped at 5 percent."},
    {"id": "b1", "text": "Guardian denied the key without a scope."},
    {"id": "a2", "text": "The canary rollout stopped at 5 percent!"},
    {"id": "c1", "text": "The soak run held p95 under budget for 48 hours."},
    {"id": "a3", "text": "the canary rollout STOPPED at 5 percent"},
    {"id": "b2", "text": "Guardian denied the key, without a scope."},
]


def _live_ids(index: MemoryIndexModel) -> set[str]:
    return set(
        MemoryItemModel.objects.filter(
            index=index, folded_into__isnull=True, deleted_at__isnull=True
        ).values_list("public_id", flat=True)
    )


def _assert_every_id_traceable(index: MemoryIndexModel, original: set[str]) -> None:
    """Every id is live, or folded into exactly one live item that lists it."""
    live = _live_ids(index)
    rows = {r.public_id: r for r in MemoryItemModel.objects.filter(index=index)}
    for item_id in original:
        row = rows[item_id]
        if item_id in live:
            continue
        survivor = row.folded_into
        assert survivor is not None, f"{item_id} is neither live nor folded"
        assert survivor.public_id in live, f"{item_id} folded into a dead item"
        assert item_id in survivor.metadata["folded_ids"]


def test_it_folds_near_duplicates_keeping_every_id_traceable(make_index):
    index = make_index()
    services.items_add(index=index, items=DUPLICATED)
    record = services.fold_index(index=index)
    assert (record.before_count, record.after_count, record.groups) == (6, 3, 2)
    assert record.absorbed == {"a2": "a1", "a3": "a1", "b2": "b1"}
    assert record.trigger == FoldTrigger.MANUAL
    index.refresh_from_db()
    assert (index.item_count, index.version, index.writes_since_fold) == (3, 2, 0)
    assert index.last_folded_at is not None and index.items_after_last_fold == 3
    assert _live_ids(index) == {"a1", "b1", "c1"}
    a1 = MemoryItemModel.objects.get(index=index, public_id="a1")
    assert a1.metadata["folded_ids"] == ["a2", "a3"]
    assert a1.metadata["folded_texts"] == [DUPLICATED[2]["text"], DUPLICATED[4]["text"]]
    _assert_every_id_traceable(index, {item["id"] for item in DUPLICATED})

    # A query sees the survivors only, with their fold history.
    hits = run_query(text="canary rollout", indexes=["notes"], owner="acme").memories
    assert [hit.id for hit in hits][:1] == ["a1"]
    assert "a2" not in {hit.id for hit in hits}


def test_it_changes_nothing_when_folded_twice(make_index):
    index = make_index()
    services.items_add(index=index, items=DUPLICATED)
    services.fold_index(index=index)
    index.refresh_from_db()
    snapshot = list(
        MemoryItemModel.objects.filter(index=index)
        .order_by("pk")
        .values_list("public_id", "metadata", "version", "folded_into_id", "deleted_at")
    )
    second = services.fold_index(index=index)
    assert (second.before_count, second.after_count, second.absorbed) == (3, 3, {})
    assert second.version == index.version
    assert (
        list(
            MemoryItemModel.objects.filter(index=index)
            .order_by("pk")
            .values_list("public_id", "metadata", "version", "folded_into_id", "deleted_at")
        )
        == snapshot
    )


def test_it_points_absorbed_items_at_the_live_survivor_after_a_later_fold(make_index):
    index = make_index()
    services.items_add(
        index=index,
        items=[
            {"id": "early", "text": "canary rollout stopped at five percent on monday"},
            {"id": "late", "text": "canary rollout stopped at five percent on tuesday"},
            {"id": "late-copy", "text": "Canary rollout stopped at five percent on Tuesday."},
        ],
    )
    first = services.fold_index(index=index, threshold=0.99)
    assert first.absorbed == {"late-copy": "late"}
    second = services.fold_index(index=index, threshold=0.5)
    assert second.absorbed == {"late": "early"}
    rows = {r.public_id: r for r in MemoryItemModel.objects.filter(index=index)}
    assert rows["late-copy"].folded_into_id == rows["early"].pk  # flattened: one hop
    assert rows["early"].metadata["folded_ids"] == ["late", "late-copy"]
    _assert_every_id_traceable(index, set(rows))


def test_it_deletes_what_was_folded_with_its_survivor_and_forgets_a_deleted_absorbed_id(
    make_index,
):
    index = make_index()
    services.items_add(index=index, items=DUPLICATED)
    services.fold_index(index=index)
    # An absorbed id on its own: gone from the survivor's history, text included.
    assert services.items_delete(index=index, ids=["a2"]) == 0  # it was not live
    a1 = MemoryItemModel.objects.get(index=index, public_id="a1")
    assert a1.metadata["folded_ids"] == ["a3"]
    assert a1.metadata["folded_texts"] == [DUPLICATED[4]["text"]]
    # A survivor: its absorbed items go with it.
    assert services.items_delete(index=index, ids=["b1"]) == 1
    rows = {r.public_id: r for r in MemoryItemModel.objects.filter(index=index)}
    assert rows["b2"].deleted_at is not None and rows["b2"].text == ""
    index.refresh_from_db()
    assert index.item_count == 2
    assert run_query(text="guardian denied", indexes=["notes"], owner="acme").memories[0].id in {
        "a1",
        "c1",
    }


def test_it_refuses_to_overwrite_a_folded_id(make_index):
    index = make_index()
    services.items_add(index=index, items=DUPLICATED)
    services.fold_index(index=index)
    with pytest.raises(Conflict, match="'a2' was folded into 'a1'"):
        services.items_add(index=index, items=[{"id": "a2", "text": "something new"}])


def test_it_runs_one_fold_per_index_at_a_time(make_index):
    index = make_index(texts=["x one", "x one!"])
    cache.add(services.fold_lock_key(index), "another-worker", timeout=60)
    try:
        with pytest.raises(Conflict, match="is being folded right now"):
            services.fold_index(index=index)
        assert tasks.fold_index(index.pk, "writes") == {
            "index": index.pk,
            "skipped": "fold_in_progress",
        }
        assert not FoldRecord.objects.exists()
    finally:
        cache.delete(services.fold_lock_key(index))
    assert tasks.fold_index(index.pk, "writes")["after"] == 1
    assert cache.get(services.fold_lock_key(index)) is None  # released


def test_it_folds_again_from_a_fresh_snapshot_when_the_index_moved_meanwhile(
    make_index, monkeypatch
):
    index = make_index()
    services.items_add(index=index, items=DUPLICATED[:2])
    from matriz.services import folding

    real_fold = folding.engine_fold_index
    calls = []

    def fold_while_someone_writes(memory_index, **kwargs):
        calls.append(len(memory_index))
        if len(calls) == 1:  # a writer commits between the snapshot and the write-back
            services.items_add(index=index, items=[DUPLICATED[2]])
        return real_fold(memory_index, **kwargs)

    monkeypatch.setattr(folding, "engine_fold_index", fold_while_someone_writes)
    record = services.fold_index(index=index)
    assert calls == [2, 3]
    assert record.absorbed == {"a2": "a1"}


def test_it_purges_old_tombstones_and_makes_late_processes_reload(make_index, settings):
    settings.MATRIZ_TOMBSTONE_TTL_SECONDS = 3600
    index = make_index()
    services.items_add(index=index, items=DUPLICATED[:4])
    run_query(text="canary", indexes=["notes"], owner="acme")  # this process holds v1
    services.items_delete(index=index, ids=["c1"])
    assert services.fold_index(index=index).tombstones_purged == 0  # too young
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        record = services.fold_index(index=index)
    assert record.tombstones_purged == 1
    assert not MemoryItemModel.objects.filter(public_id="c1").exists()
    index.refresh_from_db()
    assert index.purged_version == 2 and index.version == 3
    # v1 is older than the purge: a delta could not see c1's deletion, so: full reload.
    result = run_query(text="soak run budget", indexes=["notes"], owner="acme")
    assert "c1" not in {hit.id for hit in result.memories}
    assert get_runtime().loaded_indexes()[0].version == 3


def test_it_schedules_a_fold_every_n_writes_after_commit(
    make_index, settings, published, django_capture_on_commit_callbacks
):
    settings.MATRIZ_FOLD_EVERY_N_WRITES = 4
    index = make_index()
    sent = published
    with django_capture_on_commit_callbacks(execute=True):
        services.items_add(index=index, items=DUPLICATED[:3])
    assert sent == []
    with django_capture_on_commit_callbacks(execute=True):
        written = services.items_add(index=index, items=DUPLICATED[3:])
    assert written.fold_scheduled == FoldTrigger.WRITES
    assert sent == [("matriz.fold_index", (index.pk, "writes"))]


def test_it_schedules_a_fold_when_an_index_outgrows_its_limit(
    make_index, settings, published, django_capture_on_commit_callbacks
):
    settings.MATRIZ_FOLD_EVERY_N_WRITES = 0
    settings.MATRIZ_FOLD_MAX_ITEMS = 2
    index = make_index()
    sent = published
    with django_capture_on_commit_callbacks(execute=True):
        services.items_add(index=index, items=DUPLICATED[:3])
    assert sent == [("matriz.fold_index", (index.pk, "size"))]


def test_it_declares_the_beat_round_and_folds_every_index_due(make_index, settings):
    entry = settings.CELERY_BEAT_SCHEDULE["matriz-fold"]
    assert entry["task"] == "matriz.fold_index"
    assert entry["schedule"] == settings.MATRIZ_FOLD_INTERVAL_SECONDS
    written = make_index("written")
    services.items_add(index=written, items=DUPLICATED)
    untouched = make_index("untouched")
    result = tasks.fold_index()  # what beat enqueues: no index, trigger "schedule"
    assert result == {"folded": [written.pk]}
    assert FoldRecord.objects.get().trigger == FoldTrigger.SCHEDULE
    assert not FoldRecord.objects.filter(index=untouched).exists()
    assert tasks.fold_index() == {"folded": []}  # nothing written since


@pytest.mark.django_db(transaction=True)
def test_it_folds_in_a_real_worker_on_the_nth_write_and_this_process_sees_it(
    make_index, settings, celery_worker
):
    settings.MATRIZ_FOLD_EVERY_N_WRITES = len(DUPLICATED)
    index = make_index()
    services.items_add(index=index, items=DUPLICATED[:1])
    assert run_query(text="canary", indexes=["notes"], owner="acme").memories  # loaded: v1
    services.items_add(index=index, items=DUPLICATED[1:])  # the 6th write: fold scheduled

    deadline = time.monotonic() + 60
    while not FoldRecord.objects.filter(index=index).exists():
        assert time.monotonic() < deadline, celery_worker.output()
        time.sleep(0.2)
    record = FoldRecord.objects.get(index=index)
    assert (record.trigger, record.before_count, record.after_count) == ("writes", 6, 3)

    hits = run_query(text="canary rollout stopped", indexes=["notes"], owner="acme", top_k=10)
    assert {hit.id for hit in hits.memories} == {"a1", "b1", "c1"}
    _assert_every_id_traceable(index, {item["id"] for item in DUPLICATED})


def test_a_minilm_index_folds_only_near_exact_copies(make_index):
    index = make_index(embedder="minilm")
    services.items_add(
        index=index,
        items=[
            {"id": "mon", "text": "The canary rollout stopped at 5 percent on Monday."},
            {"id": "tue", "text": "The canary rollout stopped at 5 percent on Tuesday."},
            {"id": "tue-copy", "text": "The canary rollout stopped at 5 percent on Tuesday."},
        ],
    )
    # At hashing's 0.92 MiniLM would fold Monday into Tuesday (cosine 0.991): two facts.
    assert services.fold_index(index=index).absorbed == {"tue-copy": "tue"}
    assert _live_ids(index) == {"mon", "tue"}

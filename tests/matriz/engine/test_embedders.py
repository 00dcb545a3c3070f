"""The projection behind ``dimensions`` and the hashing embedder's fallbacks (pure engine)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from matriz.engine import HashingEmbedder, project
from matriz.engine.embedders import projection_basis


def random_texts(count: int, seed: int = 11) -> list[str]:
    alphabet = ["cat", "dog", "a", "b", "🙂", "🚀", "!", "?", ".", " ", "\t", "é", "漢", "-"]
    rng = random.Random(seed)
    return ["".join(rng.choices(alphabet, k=rng.randint(1, 5))) for _ in range(count)]


def test_it_never_gives_a_non_empty_text_a_zero_vector():
    texts = ["🙂🚀", "?!", " ", "\n", "—", "a b", *random_texts(300)]
    vectors = HashingEmbedder().embed(texts)
    assert np.all(np.abs(np.linalg.norm(vectors, axis=1) - 1) < 1e-5)
    for dims in range(1, 385):
        norms = np.linalg.norm(project(vectors, dims), axis=1)
        assert np.all(np.abs(norms - 1) < 1e-4), dims


def test_a_text_without_words_is_hashed_by_its_characters():
    embedder = HashingEmbedder()
    assert embedder.features("🙂🚀") == ["\x00🙂", "\x00🚀", "\x00🙂🚀"]
    assert embedder.features("cat 🙂") == ["cat"]  # words win: no character features
    assert np.array_equal(embedder.embed_one("🙂🚀"), HashingEmbedder().embed_one("🙂🚀"))


def test_cancelled_features_fall_back_to_the_whole_text():
    embedder = HashingEmbedder(8, bigrams=False)
    # Find two words that land in one bucket with opposite signs: their sum is zero.
    words = [f"w{n}" for n in range(200)]
    vectors = {w: embedder.embed_one(w) for w in words}
    pair = next(
        f"{a} {b}"
        for i, a in enumerate(words)
        for b in words[i + 1 :]
        if np.allclose(vectors[a], -vectors[b])
    )
    assert np.linalg.norm(embedder.embed_one(pair)) == pytest.approx(1.0)


def test_the_projection_is_fixed_orthonormal_and_prefix_consistent():
    basis = projection_basis(384)
    assert np.allclose(basis @ basis.T, np.eye(384), atol=1e-4)
    # The same matrix in every process and release (SHAKE-256, not numpy's generators):
    # pinned by a few entries, so a change to the seed or the recipe fails here.
    assert basis[0, :3].tolist() == pytest.approx([-0.0479, 0.0547, 0.1026], abs=1e-4)
    assert basis[383, -2:].tolist() == pytest.approx([-0.0084, 0.0170], abs=1e-4)
    vectors = HashingEmbedder().embed(["the canary rollout was halted", "bananas"])
    short, longer = project(vectors, 32), project(vectors, 64)
    # A shorter projection is the longer one's prefix, renormalised.
    prefix = longer[:, :32] / np.linalg.norm(longer[:, :32], axis=1, keepdims=True)
    assert np.allclose(short, prefix, atol=1e-5)
    assert np.array_equal(project(vectors, 384), vectors)
    with pytest.raises(ValueError, match="dims"):
        project(vectors, 385)
    with pytest.raises(ValueError, match="dims"):
        project(vectors, 0)

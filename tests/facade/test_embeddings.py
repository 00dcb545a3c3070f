"""/v1/embeddings: ``dimensions`` projects, every input gets a non-zero vector, MiniLM is semantic.

The hashing tests pin ``MATRIZ_EMBEDDER = "hashing"`` (its lexical geometry and
its any-size dimension are what they measure); the default-embedder tests
run with the site's default, MiniLM.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

pytestmark = pytest.mark.django_db

RELATED = ("the canary rollout was halted", "we stopped the canary deploy")
UNRELATED = "bananas are yellow"
# Texts the word tokenizer finds nothing in, and ordinary ones.
AWKWARD = ["🙂🚀", "🙂", "?!", "...", " ", "\t\n", "—", "👍🏽👍🏽", "a b", "x", "🚀 launch 🚀"]


def random_texts(count: int, seed: int = 7) -> list[str]:
    """Short texts of words, emoji, punctuation and spaces, the same on every run."""
    alphabet = ["cat", "dog", "canary", "a", "b", "🙂", "🚀", "!", "?", ".", " ", "é", "ß", "漢"]
    rng = random.Random(seed)
    return ["".join(rng.choices(alphabet, k=rng.randint(1, 6))) for _ in range(count)]


@pytest.fixture
def embed(post):
    """``embed(input, dimensions=None)`` → the (n, d) array of the answer; asserts 200."""

    def call(texts, dimensions: int | None = None) -> np.ndarray:
        body = {"model": "lukhas-embed-1", "input": texts}
        if dimensions is not None:
            body["dimensions"] = dimensions
        answer = post("/embeddings", body)
        assert answer.status_code == 200, answer.content
        return np.array([row["embedding"] for row in answer.json()["data"]])

    return call


@pytest.fixture
def hashing(settings):
    settings.MATRIZ_EMBEDDER = "hashing"


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.usefixtures("hashing")
def test_it_never_answers_a_zero_vector_at_any_dimension_with_hashing(embed):
    texts = AWKWARD + random_texts(40)
    # Every size is swept in tests/matriz/engine/test_embedders.py; through HTTP, a spread.
    for dims in [*range(1, 17), 31, 32, 33, 64, 100, 127, 128, 200, 255, 256, 383, 384]:
        vectors = embed(texts, dims)
        assert vectors.shape == (len(texts), dims)
        norms = np.linalg.norm(vectors, axis=1)
        short = [text for text, norm in zip(texts, norms, strict=True) if norm < 1 - 1e-4]
        assert not short and np.all(np.abs(norms - 1) < 1e-4), (dims, short)


@pytest.mark.usefixtures("hashing")
def test_it_embeds_emoji_and_punctuation_deterministically_with_hashing(embed):
    first, again = embed(AWKWARD), embed(AWKWARD)
    assert np.all(np.linalg.norm(first, axis=1) > 0.99)
    assert np.array_equal(first, again)
    by_text = dict(zip(AWKWARD, first, strict=True))
    assert cosine(by_text["🙂🚀"], by_text["🙂"]) > 0.3  # shares a character
    assert abs(cosine(by_text["🙂🚀"], by_text["?!"])) < 0.3
    assert np.array_equal(embed(["🙂🚀"], 7)[0], embed(["🙂🚀"], 7)[0])


@pytest.mark.usefixtures("hashing")
def test_it_projects_rather_than_truncates_with_hashing(embed):
    full = embed(["canary"])[0]
    short = embed(["canary"], 64)[0]
    cut = full[:64]
    # One word is one signed bucket: a cut almost always drops it (the old zero vector).
    assert not np.allclose(short, cut / max(np.linalg.norm(cut), 1e-12))
    for dims in (16, 32, 64, 128, 256, 383):
        related, other, unrelated = embed([*RELATED, UNRELATED], dims)
        assert cosine(related, other) > cosine(related, unrelated) + 0.1, dims


def test_it_refuses_more_dimensions_than_the_embedder_has(post, settings):
    for embedder, native in (("minilm", 384), ("hashing", 64)):
        settings.MATRIZ_EMBEDDER = embedder
        settings.MATRIZ_EMBEDDING_DIM = 64
        refused = post("/embeddings", {"model": "lukhas-embed-1", "input": "x",
                                       "dimensions": native + 1})  # fmt: skip
        assert refused.status_code == 400, refused.content
        error = refused.json()["error"]
        assert error["param"] == "dimensions" and error["type"] == "invalid_request_error"
        assert f"at most {native}" in error["message"]
        assert post("/embeddings", {"model": "lukhas-embed-1", "input": "x",
                                    "dimensions": native}).status_code == 200  # fmt: skip


def test_the_default_embedder_is_semantic(embed, get, settings):
    assert settings.MATRIZ_EMBEDDER == "minilm"
    card = get("/models/lukhas-embed-1").json()
    assert card["lukhas"] == {"embedder": "minilm", "dimensions": 384}
    halted, stopped, bananas = embed([*RELATED, UNRELATED])
    assert halted.shape == (384,)
    # MiniLM: 0.80 against -0.01 (hashing, on the one shared word "canary": 0.33 against 0).
    assert cosine(halted, stopped) > cosine(halted, bananas) + 0.3
    # The case: hashing had cos(cat, kitten) == cos(cat, dog) == 0.
    cat, kitten, invoice = embed(["cat", "kitten", "invoice"])
    assert cosine(cat, kitten) > cosine(cat, invoice) + 0.1
    # Projection keeps the order, and no input gives a zero vector.
    for dims in (8, 32, 64, 128, 256):
        a, b, c = embed([*RELATED, UNRELATED], dims)
        assert cosine(a, b) > cosine(a, c), dims
    for dims in (1, 2, 3, 17, 383):
        assert np.all(np.linalg.norm(embed(AWKWARD, dims), axis=1) > 0.99), dims


def test_new_indexes_follow_the_embedder(post, settings):
    settings.MATRIZ_EMBEDDING_DIM = 64  # sizes hashing indexes only
    default = post("/indexes", {"name": "minilm-notes"}).json()
    assert (default["embedder"], default["dimension"]) == ("minilm", 384)
    settings.MATRIZ_EMBEDDER = "hashing"
    lexical = post("/indexes", {"name": "hashing-notes"}).json()
    assert (lexical["embedder"], lexical["dimension"]) == ("hashing", 64)


@pytest.mark.parametrize(
    ("token_input", "where"),
    [
        ([-1], "position 0"),
        ([9906, 100256], "position 1"),  # a gap of cl100k_base
        ([[9906], [10_000_000]], "input[1]"),
        ([[9906], []], "input[1]"),
    ],
)
def test_it_refuses_token_ids_outside_the_vocabulary(post, token_input, where):
    refused = post("/embeddings", {"model": "lukhas-embed-1", "input": token_input})
    assert refused.status_code == 400, refused.content
    error = refused.json()["error"]
    assert error["param"] == "input" and where in error["message"]

"""The embedders a process runs, one instance per (name, dimension), built on first use."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from lukhas_site.errors import InvalidRequest
from matriz.engine import Embedder, EmbedderUnavailableError, HashingEmbedder, OnnxMiniLMEmbedder
from matriz.engine.embedders import DEFAULT_DIM

EMBEDDERS = ("hashing", "minilm", "onnx-minilm")
#: The model embedders have the model's size; hashing has any (LUKHAS_MATRIZ_EMBEDDING_DIM).
MODEL_DIMENSIONS = {"minilm": DEFAULT_DIM, "onnx-minilm": DEFAULT_DIM}

_embedders: dict[tuple[str, int], Embedder] = {}
_embedders_lock = threading.Lock()


def native_dimension(name: str | None = None) -> int:
    """The size of ``name``'s vectors (default: the site's embedder): what a new index gets.

    A model embedder's size is the model's; ``LUKHAS_MATRIZ_EMBEDDING_DIM``
    sizes hashing indexes only, so switching the embedder never asks a
    384-d model for another size.
    """
    name = name or settings.MATRIZ_EMBEDDER
    return MODEL_DIMENSIONS.get(name, settings.MATRIZ_EMBEDDING_DIM)


def embedder_for(name: str, dimension: int) -> Embedder:
    """The process's embedder of that name and size; InvalidRequest saying why if none."""
    key = (name, dimension)
    found = _embedders.get(key)
    if found is not None:
        return found
    with _embedders_lock:
        found = _embedders.get(key)
        if found is None:
            found = _embedders[key] = _build_embedder(name, dimension)
    return found


def _build_embedder(name: str, dimension: int) -> Embedder:
    if name == "hashing":
        if dimension < 8:
            raise InvalidRequest("dimension must be at least 8", param="dimension")
        return HashingEmbedder(dimension)
    if name == "minilm":
        # The model and tokenizer of the minilm extra's packages: no folder, no download.
        if dimension != 384:
            raise InvalidRequest("minilm embeds in 384 dimensions", param="dimension")
        try:
            return OnnxMiniLMEmbedder()
        except EmbedderUnavailableError as exc:
            raise InvalidRequest(str(exc), param="embedder") from exc
    if name == "onnx-minilm":
        if dimension != 384:
            raise InvalidRequest("onnx-minilm embeds in 384 dimensions", param="dimension")
        if not settings.MATRIZ_ONNX_MODEL_DIR:
            raise InvalidRequest(
                "the onnx-minilm embedder needs LUKHAS_MATRIZ_ONNX_MODEL_DIR (a folder with "
                "model.onnx and tokenizer.json); use the hashing embedder otherwise",
                param="embedder",
            )
        try:
            return OnnxMiniLMEmbedder(settings.MATRIZ_ONNX_MODEL_DIR)
        except EmbedderUnavailableError as exc:
            raise InvalidRequest(str(exc), param="embedder") from exc
    raise InvalidRequest(
        f"unknown embedder {name!r}: use one of {', '.join(EMBEDDERS)}", param="embedder"
    )


def normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def embed_texts(
    texts: Sequence[str], *, embedder: str | None = None, dimension: int | None = None
) -> np.ndarray:
    """L2-normalised float32 vectors of ``texts`` (what /v1/embeddings answers with)."""
    name = embedder or settings.MATRIZ_EMBEDDER
    model = embedder_for(name, dimension or native_dimension(name))
    return normalised(model.embed(list(texts)))

"""The embedders a process runs, one instance per (name, dimension), built on first use."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from django.conf import settings

from lukhas_site.errors import InvalidRequest
from matriz.engine import Embedder, EmbedderUnavailableError, HashingEmbedder, OnnxMiniLMEmbedder

EMBEDDERS = ("hashing", "minilm", "onnx-minilm")

_embedders: dict[tuple[str, int], Embedder] = {}
_embedders_lock = threading.Lock()


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
    model = embedder_for(
        embedder or settings.MATRIZ_EMBEDDER, dimension or settings.MATRIZ_EMBEDDING_DIM
    )
    return normalised(model.embed(list(texts)))

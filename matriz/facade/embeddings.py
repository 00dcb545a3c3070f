"""POST /v1/embeddings: MATRIZ's embedder (deterministic hashing by default) in OpenAI's shape."""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np
from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from lukhas_site.errors import InvalidRequest
from matriz import runtime
from matriz.facade import catalog
from matriz.facade.common import OutModel, caller
from matriz.facade.schemas import MAX_INPUT_CHARS, EmbeddingsIn
from matriz.facade.tokens import count_tokens

router = Router()


class EmbeddingsOut(OutModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    model: str
    usage: dict[str, int]


def texts_of(payload: EmbeddingsIn) -> list[str]:
    raw = payload.input
    texts = [raw] if isinstance(raw, str) else list(raw)
    if not all(isinstance(text, str) for text in texts):
        raise InvalidRequest(
            "Only text input is supported: send a string or a list of strings, not token ids.",
            param="input",
        )
    if sum(len(text) for text in texts) > MAX_INPUT_CHARS:
        raise InvalidRequest(
            f"input has more than {MAX_INPUT_CHARS} characters in all; send smaller batches",
            param="input",
        )
    return texts


def shaped(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """Cut to ``dimensions`` and rescale to unit length (as OpenAI's v3 models do)."""
    native = vectors.shape[1]
    if dimensions is None or dimensions == native:
        return vectors
    if dimensions > native:
        raise InvalidRequest(
            f"dimensions must be at most {native} for {catalog.EMBEDDING_MODEL}",
            param="dimensions",
        )
    return runtime.normalised(vectors[:, :dimensions])


def encoded(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    if encoding_format == "base64":
        return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
    return [float(value) for value in vector]


@router.post(
    "/embeddings",
    response=EmbeddingsOut,
    url_name="v1_embeddings",
    operation_id="createEmbedding",
)
def create_embedding(request: HttpRequest, payload: EmbeddingsIn) -> dict:
    """Vectors of ``lukhas-embed-1`` (L2-normalised; base64 is little-endian float32)."""
    who = caller(request, "embeddings:write")
    model = catalog.model_get(payload.model, kind="embedding").id  # an alias: its target
    texts = texts_of(payload)
    native = settings.MATRIZ_EMBEDDING_DIM
    if payload.dimensions is not None and payload.dimensions > native:
        raise InvalidRequest(f"dimensions must be at most {native} for {model}", param="dimensions")
    vectors = shaped(runtime.embed_texts(texts), payload.dimensions)
    tokens = sum(count_tokens(text) for text in texts)
    who.charge(tokens)
    return {
        "object": "list",
        "data": [
            {
                "object": "embedding",
                "index": position,
                "embedding": encoded(vector, payload.encoding_format),
            }
            for position, vector in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }

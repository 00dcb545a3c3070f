"""POST /v1/embeddings: MATRIZ's embedder (MiniLM by default) in OpenAI's shape.

``input`` takes OpenAI's four shapes: a string, strings, token ids, lists of
token ids. Token ids are of the encoding the façade counts tokens in
(cl100k_base, matriz/facade/tokens.py): they are decoded to text and embedded
as that text, and ``usage.prompt_tokens`` counts the ids sent.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np
from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from lukhas_site.errors import InvalidRequest
from matriz import runtime
from matriz.engine import project
from matriz.facade import catalog
from matriz.facade.common import OutModel, caller
from matriz.facade.schemas import MAX_INPUT_CHARS, EmbeddingsIn
from matriz.facade.tokens import UnknownTokenError, count_tokens, decode_tokens

router = Router()


class EmbeddingsOut(OutModel):
    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    model: str
    usage: dict[str, int]


def texts_of(payload: EmbeddingsIn) -> tuple[list[str], int]:
    """The texts to embed and their prompt tokens (token ids count as sent)."""
    raw = payload.input
    if isinstance(raw, str):
        texts, tokens = [raw], None
    elif all(isinstance(item, str) for item in raw):
        texts, tokens = list(raw), None
    elif all(isinstance(item, int) for item in raw):
        texts, tokens = [_decoded(raw, "input")], len(raw)
    else:
        texts = [_decoded(ids, f"input[{n}]") for n, ids in enumerate(raw)]
        tokens = sum(len(ids) for ids in raw)
    if sum(len(text) for text in texts) > MAX_INPUT_CHARS:
        raise InvalidRequest(
            f"input has more than {MAX_INPUT_CHARS} characters in all; send smaller batches",
            param="input",
        )
    if tokens is None:
        tokens = sum(count_tokens(text) for text in texts)
    return texts, tokens


def _decoded(ids: list[int], where: str) -> str:
    if not ids:
        raise InvalidRequest(f"{where} is an empty list of token ids", param="input")
    try:
        return decode_tokens(ids)
    except UnknownTokenError as exc:
        raise InvalidRequest(f"{where}: {exc}", param="input") from None


def shaped(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """``dimensions`` by a fixed random projection, unit length (matriz.engine.project).

    Not a cut: neither embedder is Matryoshka-trained, so a prefix of its
    coordinates loses meaning (and was all zeros for short hashed texts).
    """
    if dimensions is None or dimensions == vectors.shape[1]:
        return vectors
    return project(vectors, dimensions)


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
    """Vectors of ``lukhas-embed-1`` (L2-normalised; base64 is little-endian float32).

    ``dimensions`` below the embedder's size projects (never a zero vector);
    above it is a 400 naming ``dimensions``.
    """
    who = caller(request, "embeddings:write")
    model = catalog.model_get(payload.model, kind="embedding").id  # an alias: its target
    native = runtime.native_dimension()
    if payload.dimensions is not None and payload.dimensions > native:
        raise InvalidRequest(
            f"dimensions must be at most {native} for {model} "
            f"(the {settings.MATRIZ_EMBEDDER} embedder)",
            param="dimensions",
        )
    texts, tokens = texts_of(payload)
    vectors = shaped(runtime.embed_texts(texts), payload.dimensions)
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

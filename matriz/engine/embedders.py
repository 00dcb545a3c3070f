"""Embedders: text to float32 vectors for the memory store.

The default :class:`HashingEmbedder` needs no model download and is
deterministic across processes; :class:`OnnxMiniLMEmbedder` is an optional extra
for semantic recall (onnxruntime + tokenizers, imported only when used).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_DIM = 384
_TOKEN = re.compile(r"\w+", re.UNICODE)


class EmbedderUnavailableError(RuntimeError):
    """An optional embedder's extra (or model files) is missing."""


@runtime_checkable
class Embedder(Protocol):
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (len(texts), dim) float32 array; rows need not be normalised."""
        ...


@lru_cache(maxsize=1 << 16)
def _bucket(feature: str, dim: int) -> tuple[int, float]:
    # blake2b, not hash(): Python's str hash is salted per process, and vectors
    # written by one worker must match queries embedded by another.
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8, person=b"lukhas-hash").digest()
    h = int.from_bytes(digest, "little")
    return h % dim, (1.0 if h >> 63 else -1.0)


class HashingEmbedder:
    """Feature hashing of word unigrams and bigrams with signed buckets.

    Lexical, not semantic: texts sharing words and word pairs land close. The
    random sign makes bucket collisions cancel in expectation, so dot products
    stay unbiased (Weinberger et al., 2009). Deterministic, no download, tens of
    microseconds for a short query.
    """

    def __init__(self, dim: int = DEFAULT_DIM, *, bigrams: bool = True) -> None:
        if dim < 8:
            raise ValueError("dim must be >= 8")
        self.dim = dim
        self.bigrams = bigrams

    def features(self, text: str) -> list[str]:
        tokens = _TOKEN.findall(text.lower())
        if self.bigrams:
            tokens += [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
        return tokens

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        rows: list[int] = []
        cols: list[int] = []
        signs: list[float] = []
        for row, text in enumerate(texts):
            for feature in self.features(text):
                col, sign = _bucket(feature, self.dim)
                rows.append(row)
                cols.append(col)
                signs.append(sign)
        if rows:
            # One bincount over flat positions: much faster than np.add.at.
            flat = np.asarray(rows, dtype=np.int64) * self.dim + np.asarray(cols, dtype=np.int64)
            counts = np.bincount(flat, weights=signs, minlength=out.size)
            out = counts.reshape(out.shape).astype(np.float32)
        return _normalise(out)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d) through onnxruntime: optional, for semantic recall.

    Needs the ``onnx`` extra (``onnxruntime`` and ``tokenizers``) and a model
    folder holding ``model.onnx`` and ``tokenizer.json``; nothing is
    downloaded. Imports happen on construction so the engine imports without
    the extra.
    """

    def __init__(self, model_dir: str | Path, *, max_length: int = 256) -> None:
        try:
            # Optional extra, imported on demand so the engine works without it.
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbedderUnavailableError(
                "OnnxMiniLMEmbedder needs the optional 'onnx' extra "
                "(pip install onnxruntime tokenizers); HashingEmbedder works without it"
            ) from exc
        model_dir = Path(model_dir)
        for required in ("model.onnx", "tokenizer.json"):
            if not (model_dir / required).is_file():
                raise EmbedderUnavailableError(f"{model_dir / required} not found")
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding()
        self._session = onnxruntime.InferenceSession(
            str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.dim = DEFAULT_DIM

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        token_states = self._session.run(None, feeds)[0]  # (batch, tokens, dim)
        # Mean pooling over real tokens, as sentence-transformers does for MiniLM.
        weights = mask[..., None].astype(np.float32)
        pooled = (token_states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled.astype(np.float32))


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)

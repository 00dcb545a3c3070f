"""Embed a few sentences and show which are close to the first one.

    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...   # embeddings:write
    python examples/python/embeddings.py

The embedding model is LUKHAS_EMBEDDING_MODEL, or else the first model in
/v1/models whose id contains "embed". Exits 1 on an API error, when no
embedding model is listed, when a vector is missing or all zeros, or when the
question about the canary is not the sentence closest to the canary
statement; 2 without a key.
"""

from __future__ import annotations

import math
import os
import sys

import openai

SENTENCES = [
    "The canary rollout stopped at 5 percent.",
    "Why did the canary rollout stop?",
    "The release train departs on Thursday.",
    "Guardian refuses keys without the right scope.",
]
LOCAL = "http://127.0.0.1:8000/v1"  # `make run`; never api.openai.com by accident


def make_client() -> openai.OpenAI | None:
    api_key = os.environ.get("OPENAI_API_KEY") or os.environ.get("LUKHAS_API_KEY")
    if not api_key:
        print("Set OPENAI_API_KEY to a LUKHAS API key (lk-..., manage.py create_api_key).",
              file=sys.stderr)  # fmt: skip
        return None
    base_url = os.environ.get("OPENAI_BASE_URL") or LOCAL
    return openai.OpenAI(base_url=base_url, api_key=api_key)


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def embedding_model(client: openai.OpenAI) -> str | None:
    chosen = os.environ.get("LUKHAS_EMBEDDING_MODEL")
    if chosen:
        return chosen
    return next((model.id for model in client.models.list() if "embed" in model.id), None)


def main() -> int:
    client = make_client()
    if client is None:
        return 2
    try:
        model = embedding_model(client)
        if model is None:
            print("No embedding model in /v1/models; set LUKHAS_EMBEDDING_MODEL.", file=sys.stderr)
            return 1
        result = client.embeddings.create(model=model, input=SENTENCES)
    except openai.APIError as exc:
        print(f"The API refused ({type(exc).__name__}): {exc.message}", file=sys.stderr)
        return 1
    vectors = [item.embedding for item in sorted(result.data, key=lambda item: item.index)]
    if len(vectors) != len(SENTENCES) or len({len(v) for v in vectors}) != 1:
        print(f"Expected {len(SENTENCES)} vectors of one size, got "
              f"{[len(v) for v in vectors]}.", file=sys.stderr)  # fmt: skip
        return 1
    if any(not any(v) for v in vectors):
        print("A non-empty sentence got an all-zero vector.", file=sys.stderr)
        return 1
    print(f"model: {result.model}   {len(vectors)} vectors of {len(vectors[0])} dimensions")
    print(f"tokens: {result.usage.prompt_tokens}\n")
    print(f"similarity to {SENTENCES[0]!r}:")
    scores = [cosine(vectors[0], vector) for vector in vectors[1:]]
    for sentence, score in zip(SENTENCES[1:], scores, strict=True):
        print(f"  {score:+.3f}  {sentence}")
    if max(scores) != scores[0]:
        print(f"Expected {SENTENCES[1]!r} to be the closest sentence.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

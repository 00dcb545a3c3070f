"""Embed a few sentences and show which are close to the first one.

    export LUKHAS_API_KEY=lk-...            # needs the embeddings:write scope
    python examples/python/embeddings.py

The embedding model is LUKHAS_EMBEDDING_MODEL, or else the first model in
/v1/models whose id contains "embed". With MATRIZ's default hashing embedder
the vectors are lexical (shared words count), not semantic. Exits 1 on an
error or when no embedding model is listed, 2 without a key.
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


def make_client() -> openai.OpenAI | None:
    api_key = os.environ.get("LUKHAS_API_KEY")
    if not api_key:
        print("Set LUKHAS_API_KEY to a LUKHAS API key (lk-...).", file=sys.stderr)
        return None
    base_url = os.environ.get("LUKHAS_BASE_URL", "http://127.0.0.1:8000/v1")
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
        print(f"The API refused: {exc}", file=sys.stderr)
        return 1
    vectors = [item.embedding for item in sorted(result.data, key=lambda item: item.index)]
    print(f"model: {result.model}   {len(vectors)} vectors of {len(vectors[0])} dimensions")
    print(f"tokens: {result.usage.prompt_tokens}\n")
    print(f"similarity to {SENTENCES[0]!r}:")
    for sentence, vector in zip(SENTENCES[1:], vectors[1:], strict=True):
        print(f"  {cosine(vectors[0], vector):+.3f}  {sentence}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Create a memory index, fill it, ask MATRIZ about it, and delete it.

    export LUKHAS_API_KEY=lk-...   # indexes:read, indexes:write and responses:write scopes
    python examples/python/indexes_crud.py

/v1/indexes is a LUKHAS extension: the SDK has no method for it, so the
example uses the client's generic verbs (``client.post/get/delete`` with
``cast_to=object``, which returns the decoded JSON), keeping the SDK's auth,
retries and error types. A question reaches an index through the response's
metadata: ``metadata={"indexes": "<index name>"}``.

Exits 1 on an API error or when the answer does not use the memories, 2
without a key. The index is deleted even when something fails.
"""

from __future__ import annotations

import os
import sys
import uuid
from typing import Any

import openai

MEMORIES = [
    {"text": "The release train for LUKHAS 2.4 departs on Thursday at 14:00 UTC.",
     "metadata": {"team": "release"}},
    {"text": "The canary rollout stopped at 5 percent because p95 latency doubled.",
     "metadata": {"team": "release"}},
    {"text": "Guardian's kill switch is owned by the safety on-call, currently Priya.",
     "metadata": {"team": "safety"}},
]  # fmt: skip
QUESTION = "Why did the canary rollout stop?"
EXPECTED = "p95 latency"


def make_client() -> openai.OpenAI | None:
    api_key = os.environ.get("LUKHAS_API_KEY")
    if not api_key:
        print("Set LUKHAS_API_KEY to a LUKHAS API key (lk-...).", file=sys.stderr)
        return None
    base_url = os.environ.get("LUKHAS_BASE_URL", "http://127.0.0.1:8000/v1")
    return openai.OpenAI(base_url=base_url, api_key=api_key)


def main() -> int:
    client = make_client()
    if client is None:
        return 2
    name = f"example-{uuid.uuid4().hex[:8]}"
    index: dict[str, Any] | None = None
    try:
        index = client.post("/indexes", body={"name": name}, cast_to=object)
        print(f"created index {index['id']} ({index['name']})")
        client.post(f"/indexes/{index['id']}/items", body={"items": MEMORIES}, cast_to=object)
        print(f"added {len(MEMORIES)} memories")
        shown = client.get(f"/indexes/{index['id']}", cast_to=object)
        print(f"index now: {shown}")
        listed = client.get("/indexes", cast_to=object)
        print(f"indexes of this key: {len(listed.get('data', []))}")
        answer = client.responses.create(
            model=os.environ.get("LUKHAS_MODEL", "lukhas-matriz-1"),
            input=QUESTION,
            metadata={"indexes": name},
        )
        print(f"\nQ: {QUESTION}\nA: {answer.output_text}\n")
        if EXPECTED not in answer.output_text:
            print(f"The answer does not mention {EXPECTED!r}: recall failed.", file=sys.stderr)
            return 1
        return 0
    except openai.APIError as exc:
        print(f"The API refused: {exc}", file=sys.stderr)
        return 1
    finally:
        if index is not None:
            try:
                client.delete(f"/indexes/{index['id']}", cast_to=object)
                print(f"deleted index {index['id']}")
            except openai.APIError as exc:
                print(f"Could not delete index {index['id']}: {exc}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())

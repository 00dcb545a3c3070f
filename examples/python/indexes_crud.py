"""Create a memory index, fill it, ask MATRIZ about it, and delete it.

    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...
    python examples/python/indexes_crud.py   # indexes:read, indexes:write, responses:write

/v1/indexes is a LUKHAS extension: the SDK has no method for it, so the
example uses the client's generic verbs (``client.post/get/delete`` with
``cast_to=object``, which returns the decoded JSON), keeping the SDK's auth,
retries and error types. A question reaches an index through the response's
metadata: ``metadata={"indexes": "<index name>"}``.

Exits 1 on an API error, when the index does not hold what was added, when
the answer does not use the memories or when the deleted index is still
there; 2 without a key. The index is deleted even when something fails.
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
LOCAL = "http://127.0.0.1:8000/v1"  # `make run`; never api.openai.com by accident


def make_client() -> openai.OpenAI | None:
    api_key = os.environ.get("OPENAI_API_KEY") or os.environ.get("LUKHAS_API_KEY")
    if not api_key:
        print("Set OPENAI_API_KEY to a LUKHAS API key (lk-..., manage.py create_api_key).",
              file=sys.stderr)  # fmt: skip
        return None
    base_url = os.environ.get("OPENAI_BASE_URL") or LOCAL
    return openai.OpenAI(base_url=base_url, api_key=api_key)


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


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
        if shown.get("item_count") != len(MEMORIES):
            return fail(f"Expected {len(MEMORIES)} items in the index, it says {shown}.")
        listed = client.get("/indexes", cast_to=object)
        names = [each["name"] for each in listed.get("data", [])]
        print(f"indexes of this key: {len(names)}")
        if name not in names:
            return fail(f"The new index {name} is not in the list {names}.")
        answer = client.responses.create(
            model=os.environ.get("LUKHAS_MODEL", "lukhas-matriz-1"),
            input=QUESTION,
            metadata={"indexes": name},
        )
        print(f"\nQ: {QUESTION}\nA: {answer.output_text}\n")
        if EXPECTED not in answer.output_text:
            return fail(f"The answer does not mention {EXPECTED!r}: recall failed.")
        client.delete(f"/indexes/{index['id']}", cast_to=object)
        deleted, index = index, None
        print(f"deleted index {deleted['id']}")
        try:
            client.get(f"/indexes/{deleted['id']}", cast_to=object)
        except openai.NotFoundError:
            return 0
        return fail(f"Index {deleted['id']} is still there after DELETE.")
    except openai.APIError as exc:
        return fail(f"The API refused ({type(exc).__name__}): {exc.message}")
    finally:
        if index is not None:  # something failed before the planned delete
            try:
                client.delete(f"/indexes/{index['id']}", cast_to=object)
            except openai.APIError as exc:
                print(f"Could not delete index {index['id']}: {exc.message}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())

"""Submit a dream over a fresh memory index and wait for its narrative.

    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...
    python examples/python/dreams_basic.py   # indexes:write and dreams:write scopes

A dream is a background job (a Celery worker runs it; `make run` starts one):
``POST /v1/dreams`` answers at once with its id and status ``queued``, and
``GET /v1/dreams/<id>`` is polled until the status is ``succeeded`` or
``failed``. /v1/dreams and /v1/indexes are LUKHAS extensions, called with the
SDK's generic verbs (``cast_to=object`` returns the decoded JSON).

LUKHAS_DREAM_TIMEOUT (seconds, default 60) bounds the wait. Exits 1 on an API
error, a failed dream, a timeout or a narrative that recombines none of the
memories, 2 without a key.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import Any

import openai

MEMORIES = [
    {"text": "The canary rollout stopped at 5 percent because p95 latency doubled."},
    {"text": "Latency doubled after the new attention ranker shipped on Tuesday."},
    {"text": "The attention ranker was rolled back and the canary resumed on Wednesday."},
    {"text": "The release train for LUKHAS 2.4 departs on Thursday at 14:00 UTC."},
]
SEED = "canary rollout latency"
FINISHED = {"succeeded", "failed"}
LOCAL = "http://127.0.0.1:8000/v1"  # `make run`; never api.openai.com by accident


def make_client() -> openai.OpenAI | None:
    api_key = os.environ.get("OPENAI_API_KEY") or os.environ.get("LUKHAS_API_KEY")
    if not api_key:
        print("Set OPENAI_API_KEY to a LUKHAS API key (lk-..., manage.py create_api_key).",
              file=sys.stderr)  # fmt: skip
        return None
    base_url = os.environ.get("OPENAI_BASE_URL") or LOCAL
    return openai.OpenAI(base_url=base_url, api_key=api_key)


def wait_for(client: openai.OpenAI, dream_id: str, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while True:
        dream = client.get(f"/dreams/{dream_id}", cast_to=object)
        if dream.get("status") in FINISHED:
            return dream
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.5)


def main() -> int:
    client = make_client()
    if client is None:
        return 2
    timeout = float(os.environ.get("LUKHAS_DREAM_TIMEOUT", "60"))
    name = f"dream-example-{uuid.uuid4().hex[:8]}"
    index: dict[str, Any] | None = None
    try:
        index = client.post("/indexes", body={"name": name}, cast_to=object)
        client.post(f"/indexes/{index['id']}/items", body={"items": MEMORIES}, cast_to=object)
        print(f"index {index['id']} ({name}) holds {len(MEMORIES)} memories")
        dream = client.post("/dreams", body={"index": name, "seed": SEED}, cast_to=object)
        print(f"dream {dream['id']} {dream.get('status')}; waiting up to {timeout:g} s …")
        finished = wait_for(client, dream["id"], timeout)
        if finished is None:
            print(f"Dream {dream['id']} did not finish in {timeout:g} s: is a worker running?",
                  file=sys.stderr)  # fmt: skip
            return 1
        if finished["status"] != "succeeded":
            print(f"Dream {dream['id']} failed: {finished.get('error')}", file=sys.stderr)
            return 1
        narrative = finished.get("narrative") or ""
        print(f"\n{narrative}\n")
        if not any(word in narrative.lower() for word in ("canary", "latency", "ranker")):
            print("The narrative recombines none of the memories.", file=sys.stderr)
            return 1
        return 0
    except openai.APIError as exc:
        print(f"The API refused ({type(exc).__name__}): {exc.message}", file=sys.stderr)
        return 1
    finally:
        if index is not None:
            try:
                client.delete(f"/indexes/{index['id']}", cast_to=object)
            except openai.APIError as exc:
                print(f"Could not delete index {index['id']}: {exc.message}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())

"""Ask MATRIZ one question through the Responses API and print the answer.

    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1   # `make run`
    export OPENAI_API_KEY=lk-...   # create_api_key --name me --scopes responses:write,ops:read
    python examples/python/responses_minimal.py "Which tasks are blocked?"

``lukhas-matriz-1`` answers an ops question (blockers, the critical path,
the soak, a task by key) from the release's own tools over live data, with
the ``ops:read`` scope; a question about your own memories names an index
(see indexes_crud.py). The ``lukhas`` field of the response (kept by the
SDK as an extra field) is the reasoning chain: which node or tool answered.

``openai.OpenAI()`` reads OPENAI_BASE_URL and OPENAI_API_KEY itself; they are
read here first so that a missing key is a sentence and the default is
``make run``, never api.openai.com (LUKHAS_API_KEY, the older name, still works).
LUKHAS_MODEL (default lukhas-matriz-1) chooses whom to ask. Exits 1 on an API
error or an answer that is not a completed, non-empty text, 2 without a key.
"""

from __future__ import annotations

import os
import sys

import openai

DEFAULT_QUESTION = "Which tasks are blocked?"
LOCAL = "http://127.0.0.1:8000/v1"  # `make run`; never api.openai.com by accident


def make_client() -> openai.OpenAI | None:
    api_key = os.environ.get("OPENAI_API_KEY") or os.environ.get("LUKHAS_API_KEY")
    if not api_key:
        print("Set OPENAI_API_KEY to a LUKHAS API key (lk-..., manage.py create_api_key).",
              file=sys.stderr)  # fmt: skip
        return None
    base_url = os.environ.get("OPENAI_BASE_URL") or LOCAL
    return openai.OpenAI(base_url=base_url, api_key=api_key)


def main(question: str | None = None) -> int:
    client = make_client()
    if client is None:
        return 2
    model = os.environ.get("LUKHAS_MODEL", "lukhas-matriz-1")
    try:
        response = client.responses.create(model=model, input=question or DEFAULT_QUESTION)
    except openai.APIError as exc:
        print(f"The API refused ({type(exc).__name__}): {exc.message}", file=sys.stderr)
        return 1
    print(f"model: {response.model}   id: {response.id}   status: {response.status}")
    chain = (getattr(response, "lukhas", None) or {}).get("reasoning_chain") or []
    print(f"answered by: {', '.join(link['node'] for link in chain) or model}")
    print()
    print(response.output_text)
    print()
    if response.usage:
        print(f"tokens: {response.usage.input_tokens} in, {response.usage.output_tokens} out")
    if response.status != "completed" or not response.output_text.strip():
        print(f"Expected a completed text answer, got status {response.status!r} "
              f"and {len(response.output_text)} characters.", file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(" ".join(sys.argv[1:]) or None))

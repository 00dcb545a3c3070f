"""Ask MATRIZ one question through the Responses API and print the answer.

    export LUKHAS_API_KEY=lk-...   # manage.py create_api_key --name me --scopes responses:write
    python examples/python/responses_minimal.py "Why did the canary rollout stop?"

LUKHAS_BASE_URL (default http://127.0.0.1:8000/v1, i.e. `make run`) and
LUKHAS_MODEL (default lukhas-matriz-1) choose where and whom to ask. Exits 1 on
an API error or an answer that did not complete, 2 without a key.
"""

from __future__ import annotations

import os
import sys

import openai

DEFAULT_QUESTION = "What does the MATRIZ pipeline do with a question?"


def make_client() -> openai.OpenAI | None:
    api_key = os.environ.get("LUKHAS_API_KEY")
    if not api_key:
        print("Set LUKHAS_API_KEY to a LUKHAS API key (lk-...).", file=sys.stderr)
        return None
    base_url = os.environ.get("LUKHAS_BASE_URL", "http://127.0.0.1:8000/v1")
    return openai.OpenAI(base_url=base_url, api_key=api_key)


def main(question: str | None = None) -> int:
    client = make_client()
    if client is None:
        return 2
    model = os.environ.get("LUKHAS_MODEL", "lukhas-matriz-1")
    try:
        response = client.responses.create(model=model, input=question or DEFAULT_QUESTION)
    except openai.APIError as exc:
        print(f"The API refused: {exc}", file=sys.stderr)
        return 1
    print(f"model: {response.model}   id: {response.id}   status: {response.status}")
    print()
    print(response.output_text)
    print()
    if response.usage:
        print(f"tokens: {response.usage.input_tokens} in, {response.usage.output_tokens} out")
    return 0 if response.status == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main(" ".join(sys.argv[1:]) or None))

"""Stream an answer as it is written, with the SDK's ``responses.stream`` helper.

    export LUKHAS_API_KEY=lk-...
    python examples/python/responses_streaming.py "Tell me about the release train"

The helper rebuilds the whole response from the server-sent events, so it
needs OpenAI's full event sequence (``response.created`` …
``response.output_text.delta`` … ``response.completed``). The lower-level way
is ``client.responses.create(..., stream=True)`` and a loop over the events,
keeping those whose ``type`` is ``response.output_text.delta``.

LUKHAS_BASE_URL (default http://127.0.0.1:8000/v1) and LUKHAS_MODEL (default
lukhas-matriz-1) as in responses_minimal.py. Exits 1 on an error, 2 without a key.
"""

from __future__ import annotations

import os
import sys
import time

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
    started = time.perf_counter()
    first_token: float | None = None
    try:
        with client.responses.stream(model=model, input=question or DEFAULT_QUESTION) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    if first_token is None:
                        first_token = time.perf_counter() - started
                    print(event.delta, end="", flush=True)
            final = stream.get_final_response()
    except openai.APIError as exc:
        print(f"\nThe API refused: {exc}", file=sys.stderr)
        return 1
    print()
    took = time.perf_counter() - started
    first = f"{first_token * 1000:.0f} ms" if first_token is not None else "no text"
    print(f"\n{final.id}: {final.status}; first text after {first}, all after {took:.2f} s")
    if final.usage:
        print(f"tokens: {final.usage.input_tokens} in, {final.usage.output_tokens} out")
    return 0 if final.status == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main(" ".join(sys.argv[1:]) or None))

"""Stream an answer as it is written, with the SDK's ``responses.stream`` helper.

    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...
    python examples/python/responses_streaming.py "Tell me about the release train"

The helper rebuilds the whole response from the server-sent events, so it
needs OpenAI's full event sequence (``response.created`` …
``response.output_text.delta`` … ``response.completed``). The lower-level way
is ``client.responses.create(..., stream=True)`` and a loop over the events,
keeping those whose ``type`` is ``response.output_text.delta``.

LUKHAS_MODEL (default lukhas-matriz-1) as in responses_minimal.py. Exits 1 on
an error, when no text streamed or when the streamed pieces do not add up to
the final answer, 2 without a key.
"""

from __future__ import annotations

import os
import sys
import time

import openai

DEFAULT_QUESTION = "What is the critical path?"
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
    started = time.perf_counter()
    first_token: float | None = None
    pieces: list[str] = []
    try:
        with client.responses.stream(model=model, input=question or DEFAULT_QUESTION) as stream:
            for event in stream:
                if event.type == "response.output_text.delta":
                    if first_token is None:
                        first_token = time.perf_counter() - started
                    pieces.append(event.delta)
                    print(event.delta, end="", flush=True)
            final = stream.get_final_response()
    except openai.APIError as exc:
        print(f"\nThe API refused ({type(exc).__name__}): {exc.message}", file=sys.stderr)
        return 1
    print()
    took = time.perf_counter() - started
    first = f"{first_token * 1000:.0f} ms" if first_token is not None else "no text"
    print(f"\n{final.id}: {final.status}; {len(pieces)} pieces, first after {first}, "
          f"all after {took:.2f} s")  # fmt: skip
    if final.usage:
        print(f"tokens: {final.usage.input_tokens} in, {final.usage.output_tokens} out")
    if final.status != "completed" or not pieces:
        print(f"Expected a completed, streamed answer: status {final.status!r}, "
              f"{len(pieces)} text pieces.", file=sys.stderr)  # fmt: skip
        return 1
    if "".join(pieces) != final.output_text:
        print("The streamed pieces do not add up to the final answer.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(" ".join(sys.argv[1:]) or None))

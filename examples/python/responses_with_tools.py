"""An agent loop with a function tool of your own: the model asks, your code answers.

    export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=lk-...   # responses:write
    python examples/python/responses_with_tools.py "Is v0.9.0-rc ready for GA? Show the gates."

The tool (``get_release_status``) runs here, in the client, not on the
server: the request offers it with a JSON schema, the response carries a
``function_call`` item (its ``call_id`` and JSON ``arguments``), this script
runs the function and sends a ``function_call_output`` back with
``previous_response_id``; the second response is the answer. ``tool_choice``
names the function, so a local model (``lukhas-matriz-1``) must call it, with
arguments built from the question and valid against the schema; with
``auto`` it may answer in text instead.

Exits 1 on an API error, when no valid call comes back or when the final
answer does not use the tool's result, 2 without a key.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

import openai

DEFAULT_QUESTION = "Is v0.9.0-rc ready for GA? Show the gates."
LOCAL = "http://127.0.0.1:8000/v1"  # `make run`; never api.openai.com by accident
RELEASE_TAG = r"^v[0-9]+\.[0-9]+\.[0-9]+(-rc)?$"
TOOL = {
    "type": "function",
    "name": "get_release_status",
    "description": "The soak phase and GA gates of a release candidate",
    "parameters": {
        "type": "object",
        "properties": {
            "release": {"type": "string", "pattern": RELEASE_TAG, "description": "a release tag"},
            "detail": {"type": "string", "enum": ["summary", "gates"]},
        },
        "required": ["release"],
        "additionalProperties": False,
    },
    "strict": False,  # "detail" is optional; OpenAI's strict mode wants every field required
}
# What your own system would know; here a table, so the example runs anywhere.
RELEASES = {
    "v0.9.0-rc": {"phase": "soaking", "hours_left": 20, "gates": {"p95_latency": "passing"}},
}


def get_release_status(release: str, detail: str = "summary") -> dict[str, Any]:
    """The function the model may call (the client's side of the tool)."""
    known = RELEASES.get(release)
    if known is None:
        return {"release": release, "phase": "unknown"}
    status = {"release": release, "phase": known["phase"], "hours_left": known["hours_left"]}
    return {**status, "gates": known["gates"]} if detail == "gates" else status


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
    question = question or DEFAULT_QUESTION
    try:
        first = client.responses.create(
            model=model,
            input=question,
            tools=[TOOL],
            tool_choice={"type": "function", "name": TOOL["name"]},
        )
        calls = [item for item in first.output if item.type == "function_call"]
        if not calls:
            print(f"Expected a function_call, got {[i.type for i in first.output]}.",
                  file=sys.stderr)  # fmt: skip
            return 1
        outputs = []
        for call in calls:
            try:
                arguments = json.loads(call.arguments)
            except ValueError:
                print(f"The arguments of {call.name} are not JSON: {call.arguments!r}",
                      file=sys.stderr)  # fmt: skip
                return 1
            print(f"model calls {call.name}({arguments})   call_id {call.call_id}")
            if call.name != TOOL["name"] or not re.match(RELEASE_TAG, arguments.get("release", "")):
                print(f"Not a call this script can run: {call.name} {arguments}", file=sys.stderr)
                return 1
            result = json.dumps(get_release_status(**arguments))
            print(f"  → {result}")
            outputs.append({"type": "function_call_output", "call_id": call.call_id,
                            "output": result})  # fmt: skip
        final = client.responses.create(
            model=model, previous_response_id=first.id, input=outputs, tools=[TOOL]
        )
    except openai.APIError as exc:
        print(f"The API refused ({type(exc).__name__}): {exc.message}", file=sys.stderr)
        return 1
    print(f"\nQ: {question}\nA: {final.output_text}\n")
    if final.status != "completed" or "soaking" not in final.output_text:
        print("The final answer does not use the tool's result (the phase 'soaking').",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(" ".join(sys.argv[1:]) or None))

"""Which OpenAI request parameters an answer applies, passes on, refuses or drops.

OpenAI adds request parameters every few months; a client that upgrades its
SDK sends them. Refusing every name we do not implement breaks working
clients, and accepting them silently lies. So every parameter of the current
chat and responses schemas is known (the request schemas list them), and
each one is, for the model that answers:

- **applied** (the local answer honours it),
- **passed on** to the upstream model (when one answers),
- **refused** with a 400 naming it, when ignoring it would hand the client
  something other than what it asked for (log probabilities), or
- **dropped**, named in the ``x-lukhas-ignored-params`` response header and
  a log line.

Only names OpenAI does not define are refused as unknown (the schemas forbid
extra fields).
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel

from lukhas_site.errors import InvalidRequest

log = logging.getLogger(__name__)

IGNORED_HEADER = "x-lukhas-ignored-params"

CHAT_APPLIED = frozenset(
    {"model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens"}
    | {"metadata", "stop", "n", "tools", "tool_choice", "parallel_tool_calls", "response_format"}
    | {"store"}
)
# What UpstreamCall sends on (OpenAI's own names; the upstream applies them).
CHAT_PASSED_ON = (
    "temperature", "top_p", "stop", "presence_penalty", "frequency_penalty", "seed",
    "tools", "tool_choice", "parallel_tool_calls", "response_format", "user", "logit_bias",
    "reasoning_effort", "service_tier", "prediction", "verbosity", "safety_identifier",
    "prompt_cache_key", "logprobs", "top_logprobs",
)  # fmt: skip

RESPONSES_APPLIED = frozenset(
    {"model", "input", "instructions", "stream", "metadata", "max_output_tokens"}
    | {"previous_response_id", "store", "text", "tools", "tool_choice", "parallel_tool_calls"}
    | {"background"}
)
RESPONSES_PASSED_ON = ("temperature", "top_p", "user", "top_logprobs")
# The one ``include`` entry honoured (by an upstream model: its token log probabilities).
LOGPROBS_INCLUDE = "message.output_text.logprobs"


def sent(payload: BaseModel) -> set[str]:
    """The parameters the client set to something (``null`` is OpenAI's default)."""
    return {name for name in payload.model_fields_set if getattr(payload, name) is not None}


def chat_refusals(payload: Any, *, upstream: bool) -> None:
    """Raise for what the answering model cannot honour and must not pretend to."""
    if upstream and (payload.n or 1) > 1:
        raise InvalidRequest(
            f"n={payload.n}: a model answered by the upstream gives one choice here; send n "
            "requests, or ask a local model (GET /v1/models).",
            param="n",
        )
    if not upstream and (payload.logprobs or payload.top_logprobs is not None):
        param = "logprobs" if payload.logprobs else "top_logprobs"
        raise InvalidRequest(
            f"{param} is not available from {payload.model}: its answers carry no token "
            "probabilities. Omit it (or set logprobs to false).",
            param=param,
        )


def responses_refusals(payload: Any, *, upstream: bool) -> None:
    """Log probabilities come only from an upstream model; a local one says so (400)."""
    if upstream:
        return
    if payload.top_logprobs is not None:
        raise InvalidRequest(
            f"top_logprobs is not available from {payload.model}: its answers carry no token "
            "probabilities. Omit it.",
            param="top_logprobs",
        )
    if LOGPROBS_INCLUDE in (payload.include or []):
        raise InvalidRequest(
            f"include={LOGPROBS_INCLUDE!r} is not available from {payload.model}: its answers "
            "carry no token probabilities. Remove it from include.",
            param="include",
        )


def responses_wants_logprobs(payload: Any) -> bool:
    return LOGPROBS_INCLUDE in (payload.include or []) or payload.top_logprobs is not None


def ignored(
    payload: BaseModel, *, applied: frozenset[str], passed_on: tuple[str, ...]
) -> list[str]:
    """Parameters the client set that nothing honours, sorted (also logged)."""
    names = sent(payload) - applied - set(passed_on)
    text = getattr(payload, "text", None)
    if isinstance(text, dict):
        names |= {f"text.{key}" for key, value in text.items() if key != "format" and value}
    dropped = sorted(names)
    if dropped:
        log.info(
            "request parameters dropped by %s: %s",
            getattr(payload, "model", "?"),
            ", ".join(dropped),
            extra={"ignored_params": dropped},
        )
    return dropped


def options_for_upstream(payload: BaseModel, names: tuple[str, ...]) -> dict[str, Any]:
    """The parameters passed on, as the client set them (unset ones stay the upstream's)."""
    chosen = sent(payload)
    return {name: getattr(payload, name) for name in names if name in chosen}

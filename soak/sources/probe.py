"""The ``probe`` gate source: the target's /v1 façade as its users call it.

- ``facade_smoke``: the official ``openai`` SDK calls a fixed set of
  operations (``OPERATIONS``); 1 when every one answered as it should, else 0,
  with each operation's outcome, error and latency in ``detail``;
- ``headers_guard``: those answers, and an error answer (a 404), carry the
  rate-limit headers Guardian sets and ``X-Request-ID``; 1 when all do, else 0
  with the missing headers per operation.

A target that does not answer at all is a SourceError (an error
measurement), not a 0: nothing was learnt about the façade.

The probe's API key (``probe_api_key``) is resolved here rather than in
``soak.services``: the sentinel's services import the sources to measure,
and the module graph goes one way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
from django.conf import settings

from guardian import keys
from guardian import selectors as guardian_selectors
from guardian import services as guardian_services
from soak.gates import GateSpec
from soak.sources.base import MeasureContext, Measurement, SourceError

PROBE_TENANT = "soak"
PROBE_KEY_NAME = "soak-probe"
PROBE_SCOPES = ("models:read", "responses:write", "embeddings:write")
# What every /v1 answer must carry (guardian.ratelimit.headers_for, the request-id middleware).
REQUIRED_HEADERS = (
    "x-request-id",
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
)
CHAT_MODEL = "matriz-echo"
EMBED_MODEL = "lukhas-embed-1"
PROBE_TEXT = "soak probe: are you there?"


def _key_file() -> Path:
    return settings.VAR_DIR / "soak-probe-key"


def _usable(plaintext: str) -> bool:
    parsed = keys.parse_key(plaintext)
    if parsed is None:
        return False
    key = guardian_selectors.api_key_by_public_id(parsed.public_id)
    return (
        key is not None
        and keys.hashes_match(key.key_hash, keys.hash_key(plaintext))
        and not key.revoked
        and not key.is_expired()
        and key.tenant.is_active
    )


def probe_api_key() -> str:
    """The probes' key: LUKHAS_SOAK_PROBE_API_KEY, else a ``soak`` tenant key of this site.

    The minted key's plaintext is kept in ``var/soak-probe-key`` (0600) so
    every worker process uses the same key; a revoked or vanished key is
    replaced by a new one.
    """
    if settings.SOAK_PROBE_API_KEY:
        return settings.SOAK_PROBE_API_KEY
    path = _key_file()
    if path.exists():
        stored = path.read_text().strip()
        if _usable(stored):
            return stored
    tenant = guardian_services.tenant_ensure(slug=PROBE_TENANT)
    plaintext, _ = guardian_services.api_key_create(
        name=PROBE_KEY_NAME, scopes=PROBE_SCOPES, tenant=tenant
    )
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(plaintext)
    os.replace(scratch, path)  # atomic: a reader sees the old key or the new one
    return plaintext


# --- the operations --------------------------------------------------------------------


@dataclass
class Outcome:
    operation: str
    ok: bool = False
    error: str = ""
    status: int | None = None
    latency_ms: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    expect_error: bool = False

    def as_detail(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "ok": self.ok,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "error": self.error,
        }


def _models(client: openai.OpenAI) -> tuple[Any, str]:
    raw = client.models.with_raw_response.list()
    ids = [model.id for model in raw.parse()]
    return raw, "" if ids else "no models listed"


def _chat(client: openai.OpenAI) -> tuple[Any, str]:
    raw = client.chat.completions.with_raw_response.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": PROBE_TEXT}]
    )
    content = raw.parse().choices[0].message.content
    return raw, "" if content else "the completion has no content"


def _chat_stream(client: openai.OpenAI) -> tuple[Any, str]:
    raw = client.chat.completions.with_raw_response.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": PROBE_TEXT}], stream=True
    )
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finished = any(c.choices and c.choices[0].finish_reason for c in chunks)
    if not text:
        return raw, "the stream carried no content"
    return raw, "" if finished else "the stream ended without a finish_reason"


def _responses(client: openai.OpenAI) -> tuple[Any, str]:
    raw = client.responses.with_raw_response.create(model=CHAT_MODEL, input=PROBE_TEXT)
    return raw, "" if raw.parse().output_text else "the response has no output_text"


def _embeddings(client: openai.OpenAI) -> tuple[Any, str]:
    raw = client.embeddings.with_raw_response.create(model=EMBED_MODEL, input=PROBE_TEXT)
    vector = raw.parse().data[0].embedding
    return raw, "" if vector else "the embedding is empty"


def _not_found(client: openai.OpenAI) -> tuple[Any, str]:
    client.models.with_raw_response.retrieve("soak-probe-no-such-model")
    return None, "an unknown model was found"


Operation = Callable[[openai.OpenAI], tuple[Any, str]]
OPERATIONS: dict[str, Operation] = {
    "models.list": _models,
    "chat.completions.create": _chat,
    "chat.completions.create(stream)": _chat_stream,
    "responses.create": _responses,
    "embeddings.create": _embeddings,
}
# The error answer headers_guard also checks: 404 model_not_found.
ERROR_OPERATION = ("models.retrieve(404)", _not_found)


def _run(client: openai.OpenAI, name: str, call: Operation, *, expect_error: bool) -> Outcome:
    outcome = Outcome(name, expect_error=expect_error)
    started = time.perf_counter()
    try:
        raw, problem = call(client)
        outcome.status = raw.status_code if raw is not None else None
        outcome.headers = {k.lower(): v for k, v in raw.headers.items()} if raw is not None else {}
        outcome.ok, outcome.error = not problem, problem
    except openai.APIStatusError as exc:
        outcome.status = exc.status_code
        outcome.headers = {k.lower(): v for k, v in exc.response.headers.items()}
        if expect_error and exc.status_code == 404:
            outcome.ok = True
        else:
            outcome.error = f"{exc.status_code} {exc.__class__.__name__}: {exc.message}"
    except openai.APIConnectionError as exc:
        outcome.error = f"{exc.__class__.__name__}: {exc}"
    except (openai.OpenAIError, ValueError, KeyError, IndexError, AttributeError) as exc:
        # The answer arrived but is not what the SDK or we expect of it.
        outcome.error = f"{exc.__class__.__name__}: {exc}"
    outcome.latency_ms = (time.perf_counter() - started) * 1000
    return outcome


def run_operations(base_url: str, *, with_error: bool = False) -> list[Outcome]:
    """Every operation against ``<base_url>/v1``; SourceError when the target is not there."""
    try:
        httpx.get(f"{base_url}/healthz", timeout=settings.SOAK_PROBE_TIMEOUT)
    except httpx.HTTPError as exc:
        raise SourceError(f"{base_url} unreachable: {exc.__class__.__name__}: {exc}") from exc
    client = openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key=probe_api_key(),
        max_retries=0,
        timeout=settings.SOAK_PROBE_TIMEOUT,
    )
    with client:
        outcomes = [_run(client, n, c, expect_error=False) for n, c in OPERATIONS.items()]
        if with_error:
            outcomes.append(_run(client, *ERROR_OPERATION, expect_error=True))
    if all(o.status is None and o.error for o in outcomes):
        raise SourceError(f"{base_url}/v1 did not answer: {outcomes[0].error}")
    return outcomes


def _target(ctx: MeasureContext) -> str:
    return (ctx.target_url or settings.SOAK_SELF_URL).rstrip("/")


def facade_smoke(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    base_url = _target(ctx)
    outcomes = run_operations(base_url)
    failing = [o.operation for o in outcomes if not o.ok]
    detail = {"operations": [o.as_detail() for o in outcomes]}
    query = f"openai SDK {openai.__version__} → {base_url}/v1: {', '.join(OPERATIONS)}"
    if failing:
        return Measurement(0.0, query, f"failing: {', '.join(failing)}", detail)
    return Measurement(1.0, query, f"{len(outcomes)} operations passed", detail)


def headers_guard(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    base_url = _target(ctx)
    outcomes = run_operations(base_url, with_error=True)
    missing: dict[str, list[str]] = {}
    for outcome in outcomes:
        if outcome.status is None:
            missing[outcome.operation] = ["(no answer: " + outcome.error + ")"]
            continue
        absent = [h for h in REQUIRED_HEADERS if h not in outcome.headers]
        if absent:
            missing[outcome.operation] = absent
    detail = {
        "required": list(REQUIRED_HEADERS),
        "missing": missing,
        "operations": [
            {"operation": o.operation, "status": o.status, "headers": sorted(o.headers)}
            for o in outcomes
        ],
    }
    names = ", ".join(o.operation for o in outcomes)
    query = f"{', '.join(REQUIRED_HEADERS)} on {base_url}/v1 answers: {names}"
    if missing:
        summary = "; ".join(f"{op}: {', '.join(h)}" for op, h in missing.items())
        return Measurement(0.0, query, f"missing {summary}", detail)
    return Measurement(1.0, query, f"present on all {len(outcomes)} answers", detail)


PROBES = {"facade_smoke": facade_smoke, "headers_guard": headers_guard}


def measure(gate: GateSpec, ctx: MeasureContext) -> Measurement:
    probe = PROBES.get(gate.probe or "")
    if probe is None:
        raise SourceError(
            f"gate {gate.id}: unknown probe {gate.probe!r}; known: {', '.join(PROBES)}"
        )
    return probe(gate, ctx)

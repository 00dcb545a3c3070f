"""Send the same requests to two deployments and report where their answers differ.

    manage.py shadow_diff --base http://old:8000/v1 --cand http://new:8000/v1 cases.jsonl

A case file has one JSON object a line (blank lines and ``#`` comments are
skipped)::

    {"name": "list-models", "method": "GET", "path": "/models"}
    {"name": "answer", "method": "POST", "path": "/responses",
     "body": {"model": "matriz-echo", "input": "hi"}, "headers": {"Idempotency-Key": "k1"}}
    {"name": "stream", "method": "POST", "path": "/responses", "stream": true,
     "body": {"model": "matriz-echo", "input": "hi", "stream": true}}
    {"name": "make-index", "method": "POST", "path": "/indexes", "body": {"name": "shadow"},
     "capture": {"index": "id"}}
    {"name": "read-index", "method": "GET", "path": "/indexes/{{index}}"}

``path`` is appended to each base URL. ``capture`` keeps a value of each
side's answer (a dotted path) under a name that later cases use as
``{{name}}`` in their path, body or headers — each deployment gets its own.

What is compared: the status; the headers clients depend on (content type,
which ``x-ratelimit-*`` headers are present, ``idempotent-replayed``…); and
the SHAPE of the JSON body — key sets and value types, recursively, so ids,
timestamps and generated text never count as differences. The values of a
few discriminating keys (``object``, ``type``, ``role``, ``status``, error
``code``…) are part of the shape. A stream is compared as its sequence of
event types plus the merged shape of each event's payload.

Exit status 1 when a case differs (``--no-fail-on-diff`` to report only),
2 when the case file is unusable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
CASE_KEYS = frozenset({"name", "method", "path", "body", "headers", "stream", "query", "capture"})
# Keys whose values are part of the shape: they say what kind of thing an
# object is, not which one.
VALUE_KEYS = frozenset(
    {"object", "type", "role", "status", "finish_reason", "code", "encoding_format"}
)
# Headers compared by value (media type only for content-type) / by presence.
VALUE_HEADERS = ("content-type", "idempotent-replayed", "x-should-retry")
PRESENCE_HEADERS = ("x-request-id", "retry-after", "ratelimit", "ratelimit-policy")
PREFIX_HEADERS = ("x-ratelimit-",)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class CaseFileError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ShadowCase:
    name: str
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    capture: dict[str, str] = field(default_factory=dict)


def load_cases(path: Path) -> list[ShadowCase]:
    """Read and check a JSONL case file; :class:`CaseFileError` names the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CaseFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    cases: list[ShadowCase] = []
    names: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaseFileError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(raw, dict):
            raise CaseFileError(f"{where}: a case is a JSON object")
        unknown = set(raw) - CASE_KEYS
        if unknown:
            raise CaseFileError(f"{where}: unknown keys {sorted(unknown)}")
        name, method, url_path = raw.get("name"), raw.get("method", "GET"), raw.get("path")
        if not isinstance(name, str) or not name:
            raise CaseFileError(f"{where}: 'name' is required")
        if name in names:
            raise CaseFileError(f"{where}: a case named {name!r} comes earlier")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise CaseFileError(f"{where}: 'method' must be one of {sorted(METHODS)}")
        if not isinstance(url_path, str) or not url_path.startswith("/"):
            raise CaseFileError(f"{where}: 'path' must start with '/'")
        for key in ("headers", "query", "capture"):
            if not isinstance(raw.get(key, {}), dict):
                raise CaseFileError(f"{where}: {key!r} must be an object")
        names.add(name)
        cases.append(
            ShadowCase(
                name=name,
                method=method.upper(),
                path=url_path,
                body=raw.get("body"),
                headers={k: str(v) for k, v in raw.get("headers", {}).items()},
                query=raw.get("query", {}),
                stream=bool(raw.get("stream", False)),
                capture={k: str(v) for k, v in raw.get("capture", {}).items()},
            )
        )
    if not cases:
        raise CaseFileError(f"{path} has no cases")
    return cases


# --- shapes ----------------------------------------------------------------


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # 3 vs 3.5 is a value, not a shape
    return "string" if isinstance(value, str) else type(value).__name__


def shape_of(value: Any, *, value_keys: frozenset[str] = VALUE_KEYS, key: str = "") -> Any:
    """The structure of a JSON value: dicts keep keys, lists one merged element, scalars a type."""
    if isinstance(value, dict):
        return {k: shape_of(v, value_keys=value_keys, key=k) for k, v in value.items()}
    if isinstance(value, list):
        if not value:
            return []
        merged = shape_of(value[0], value_keys=value_keys, key=key)
        for item in value[1:]:
            merged = merge_shapes(merged, shape_of(item, value_keys=value_keys, key=key))
        return [merged]
    kind = _scalar(value)
    if key in value_keys and isinstance(value, str | bool | int):
        return f"{kind}={json.dumps(value)}"
    return kind


def merge_shapes(a: Any, b: Any) -> Any:
    """One shape that describes values of both (list elements, stream events)."""
    if a == b:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {
            k: merge_shapes(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k))
            for k in {**a, **b}
        }
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:
            return a or b
        return [merge_shapes(a[0], b[0])]
    if isinstance(a, str) and isinstance(b, str):
        return "|".join(sorted(set(a.split("|")) | set(b.split("|"))))
    return "|".join(sorted({_describe(a), _describe(b)}))


def _describe(shape: Any) -> str:
    if isinstance(shape, dict):
        return "object"
    if isinstance(shape, list):
        return "array"
    return str(shape)


def diff_shapes(base: Any, cand: Any, path: str = "$") -> list[str]:
    """Where two shapes differ, one line per place."""
    if base == cand:
        return []
    if isinstance(base, dict) and isinstance(cand, dict):
        found: list[str] = []
        for key in sorted(base.keys() | cand.keys()):
            sub = f"{path}.{key}"
            if key not in cand:
                found.append(f"{sub}: only in base ({_describe(base[key])})")
            elif key not in base:
                found.append(f"{sub}: only in cand ({_describe(cand[key])})")
            else:
                found += diff_shapes(base[key], cand[key], sub)
        return found
    if isinstance(base, list) and isinstance(cand, list):
        if not base or not cand:
            return [f"{path}: {'empty' if not base else 'items'} in base, "
                    f"{'empty' if not cand else 'items'} in cand"]  # fmt: skip
        return diff_shapes(base[0], cand[0], f"{path}[]")
    return [f"{path}: {_describe(base)} in base, {_describe(cand)} in cand"]


# --- talking to the deployments -------------------------------------------------


@dataclass(slots=True)
class Observation:
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    shape: Any = None
    body: Any = None  # parsed JSON, for captures
    error: str | None = None


def header_view(headers: httpx.Headers, extra: Iterable[str] = ()) -> dict[str, str]:
    """The headers compared, reduced to what must match."""
    view: dict[str, str] = {}
    for name in VALUE_HEADERS:
        if name in headers:
            value = headers[name]
            view[name] = value.split(";")[0].strip().lower() if name == "content-type" else value
    for name in (*PRESENCE_HEADERS, *(h.lower() for h in extra)):
        if name in headers:
            view[name] = "(present)"
    for prefix in PREFIX_HEADERS:
        present = sorted(n for n in headers if n.lower().startswith(prefix))
        if present:
            view[f"{prefix}*"] = ", ".join(present)
    return view


def _sse_events(lines: Iterable[str]) -> Iterable[tuple[str | None, str]]:
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield event, "\n".join(data)
            event, data = None, []
        elif line.startswith(":"):
            continue  # heartbeat comment
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if data:
        yield event, "\n".join(data)


def stream_shape(lines: Iterable[str], value_keys: frozenset[str] = VALUE_KEYS) -> dict[str, Any]:
    """Event names in order (repeats collapsed) and each event's merged payload shape."""
    sequence: list[str] = []
    payloads: dict[str, Any] = {}
    for event, data in _sse_events(lines):
        if data == "[DONE]":
            name, shape = "[DONE]", None
        else:
            try:
                payload = json.loads(data)
            except json.JSONDecodeError:
                payload = data
            kind = (
                (payload.get("type") or payload.get("object"))
                if isinstance(payload, dict)
                else None
            )
            name = event or kind or "message"
            shape = shape_of(payload, value_keys=value_keys)
            payloads[name] = merge_shapes(payloads[name], shape) if name in payloads else shape
        if not sequence or sequence[-1] != name:
            sequence.append(name)
    return {"events": sequence, "payloads": payloads}


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    """``{{name}}`` → the captured value; a string that is only a placeholder keeps its type."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise KeyError(name)
            return str(variables[name])

        return _PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value


def dig(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(value, list) and part.lstrip("-").isdigit():
            value = value[int(part)]
        elif isinstance(value, dict):
            value = value[part]
        else:
            raise KeyError(dotted)
    return value


def observe(
    client: httpx.Client,
    case: ShadowCase,
    variables: dict[str, Any],
    *,
    extra_headers: Iterable[str] = (),
    value_keys: frozenset[str] = VALUE_KEYS,
) -> Observation:
    seen = Observation()
    try:
        path = substitute(case.path, variables)
        body = substitute(case.body, variables)
        headers = substitute(case.headers, variables)
    except KeyError as exc:
        seen.error = f"no captured value {{{{{exc.args[0]}}}}} (an earlier case failed?)"
        return seen
    # A relative URL is appended to the client's base URL (its path included).
    request = client.build_request(
        case.method, path, json=body, headers=headers, params=case.query or None
    )
    try:
        response = client.send(request, stream=case.stream)
        try:
            seen.status = response.status_code
            seen.headers = header_view(response.headers, extra_headers)
            if case.stream and response.status_code < 400:
                seen.shape = stream_shape(response.iter_lines(), value_keys)
            else:
                response.read()
                if not response.content:
                    seen.shape = "(empty)"
                else:
                    try:
                        seen.body = response.json()
                        seen.shape = shape_of(seen.body, value_keys=value_keys)
                    except ValueError:
                        seen.shape = "(not JSON)"
        finally:
            response.close()
    except httpx.HTTPError as exc:
        seen.error = f"{type(exc).__name__}: {exc}"
    return seen


@dataclass(slots=True)
class CaseResult:
    case: ShadowCase
    base: Observation
    cand: Observation
    differences: list[str]

    @property
    def differs(self) -> bool:
        return bool(self.differences)

    def to_dict(self) -> dict[str, Any]:
        def side(seen: Observation) -> dict[str, Any]:
            return {"status": seen.status, "headers": seen.headers, "error": seen.error}

        return {
            "name": self.case.name,
            "method": self.case.method,
            "path": self.case.path,
            "differs": self.differs,
            "base": side(self.base),
            "cand": side(self.cand),
            "differences": self.differences,
        }


def compare(base: Observation, cand: Observation) -> list[str]:
    found: list[str] = []
    if base.error or cand.error:
        if base.error != cand.error:
            found.append(f"error: {base.error or 'none'} in base, {cand.error or 'none'} in cand")
        return found
    if base.status != cand.status:
        found.append(f"status: {base.status} in base, {cand.status} in cand")
    for name in sorted(base.headers.keys() | cand.headers.keys()):
        b_value, c_value = base.headers.get(name), cand.headers.get(name)
        if b_value != c_value:
            found.append(
                f"header {name}: {b_value or '(absent)'} in base, {c_value or '(absent)'} in cand"
            )
    found += [f"shape {line}" for line in diff_shapes(base.shape, cand.shape)]
    return found


def run_cases(
    cases: list[ShadowCase],
    base: httpx.Client,
    cand: httpx.Client,
    *,
    extra_headers: Iterable[str] = (),
    value_keys: frozenset[str] = VALUE_KEYS,
    progress: bool = True,
) -> list[CaseResult]:
    base_vars: dict[str, Any] = {}
    cand_vars: dict[str, Any] = {}
    results = []
    for case in tqdm(cases, desc="shadow diff", unit="case", file=sys.stderr, disable=not progress):
        b_seen = observe(base, case, base_vars, extra_headers=extra_headers, value_keys=value_keys)
        c_seen = observe(cand, case, cand_vars, extra_headers=extra_headers, value_keys=value_keys)
        differences = compare(b_seen, c_seen)
        for variable, dotted in case.capture.items():
            for seen, variables, label in (
                (b_seen, base_vars, "base"),
                (c_seen, cand_vars, "cand"),
            ):
                try:
                    variables[variable] = dig(seen.body, dotted)
                except (KeyError, IndexError, TypeError):
                    differences.append(f"capture {variable}: no {dotted} in the {label} answer")
        results.append(CaseResult(case, b_seen, c_seen, differences))
    return results


def render_text(results: list[CaseResult], base_url: str, cand_url: str) -> str:
    width = max(len(r.case.name) for r in results)
    lines = [f"shadow diff: base {base_url}  cand {cand_url}  ({len(results)} cases)"]
    for result in results:
        b_status = result.base.status if result.base.error is None else "error"
        c_status = result.cand.status if result.cand.error is None else "error"
        flag = "DIFFERS" if result.differs else "same   "
        lines.append(f"  {flag} {result.case.name:<{width}}  {b_status} / {c_status}")
        lines += [f"            {line}" for line in result.differences]
    differing = sum(r.differs for r in results)
    lines.append(f"{len(results) - differing} same, {differing} differ")
    return "\n".join(lines)


def _api_key(env_name: str | None, *, required: bool) -> str | None:
    if not env_name:
        return None
    value = os.environ.get(env_name)
    if not value and required:
        raise CommandError(f"environment variable {env_name} is not set", returncode=2)
    return value or None


class Command(BaseCommand):
    help = (
        "Send the requests of a JSONL case file to two deployments and report differences "
        "in status, key headers and JSON shape; exit 1 when any case differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cases", type=Path, help="JSONL file, one request per line")
        parser.add_argument("--base", required=True, help="base URL of the reference deployment")
        parser.add_argument("--cand", required=True, help="base URL of the candidate deployment")
        parser.add_argument(
            "--api-key-env",
            help="variable holding the bearer key for both sides (default: LUKHAS_API_KEY if set)",
        )
        parser.add_argument(
            "--cand-api-key-env", help="variable holding the candidate's key, if it differs"
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--fail-on-diff",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="exit 1 when a case differs (default); --no-fail-on-diff only reports",
        )
        parser.add_argument(
            "--header",
            action="append",
            default=[],
            help="another header whose presence must match (repeatable)",
        )
        parser.add_argument(
            "--value-keys",
            help="comma-separated keys whose values count as shape "
            f"(default {','.join(sorted(VALUE_KEYS))})",
        )
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cases = load_cases(options["cases"])
        except CaseFileError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        explicit = options["api_key_env"] is not None
        base_key = _api_key(options["api_key_env"] or "LUKHAS_API_KEY", required=explicit)
        cand_key = (
            _api_key(options["cand_api_key_env"], required=True)
            if options["cand_api_key_env"]
            else base_key
        )
        value_keys = (
            frozenset(k.strip() for k in options["value_keys"].split(",") if k.strip())
            if options["value_keys"] is not None
            else VALUE_KEYS
        )
        with (
            _client(options["base"], base_key, options["timeout"]) as base,
            _client(options["cand"], cand_key, options["timeout"]) as cand,
        ):
            results = run_cases(
                cases,
                base,
                cand,
                extra_headers=options["header"],
                value_keys=value_keys,
                progress=not options["no_progress"],
            )
        if options["format"] == "json":
            report = {
                "base": options["base"],
                "cand": options["cand"],
                "cases": [r.to_dict() for r in results],
                "differing": sum(r.differs for r in results),
            }
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(render_text(results, options["base"], options["cand"]))
        differing = sum(r.differs for r in results)
        if differing and options["fail_on_diff"]:
            raise CommandError(f"{differing} of {len(results)} cases differ", returncode=1)


def _client(base_url: str, api_key: str | None, timeout: float) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

"""Structured outputs: ``response_format`` (chat) and ``text.format`` (responses), never ignored.

A client that asks for JSON parses the answer (``chat.completions.parse``,
``responses.parse``); handing it prose breaks it. So:

- **upstream**: the format is passed on, and the answer is checked: not
  JSON, or not valid against the schema, is a 502 ``upstream_invalid_output``
  (in-band in a stream), never passed off as a success;
- **local** (``matriz-echo``, ``lukhas-matriz-1``): the answer becomes an
  object. ``json_object`` gives ``{"answer": …, "sources": [...]}``; a
  ``json_schema`` is filled from the answer and its recalled memories by
  :mod:`matriz.facade.schema_fill` and validated. A schema that cannot be
  filled that way is refused with a 400 naming the parameter before anything
  runs (checked with the question standing in for the answer).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from lukhas_site.errors import InvalidRequest, LukhasError
from matriz.facade.schema_fill import fill, first_error

JSON_OBJECT = "json_object"
JSON_SCHEMA = "json_schema"


class UpstreamInvalidOutput(LukhasError):
    status = 502
    code = "upstream_invalid_output"
    openai_type = "server_error"


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """What the client asked the answer to be (``param`` names it in errors)."""

    kind: str
    param: str
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool = False

    def for_chat_upstream(self) -> dict[str, Any]:
        """The format as an upstream ``/chat/completions`` reads it."""
        if self.kind == JSON_OBJECT:
            return {"type": JSON_OBJECT}
        spec: dict[str, Any] = {"name": self.name or "answer", "schema": self.schema}
        if self.strict:
            spec["strict"] = True
        return {"type": JSON_SCHEMA, "json_schema": spec}


def _parsed(kind: Any, name: Any, schema: Any, strict: Any, param: str) -> OutputFormat | None:
    if kind in (None, "text"):
        return None
    if kind == JSON_OBJECT:
        return OutputFormat(JSON_OBJECT, param)
    if kind != JSON_SCHEMA:
        raise InvalidRequest(
            f"{param}.type must be 'text', 'json_object' or 'json_schema', not {kind!r}",
            param=f"{param}.type",
        )
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{param} needs a schema (a JSON schema object)", param=param)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidRequest(
            f"{param}.schema is not a valid JSON schema: {exc.message}", param=param
        ) from None
    return OutputFormat(JSON_SCHEMA, param, str(name or "answer"), schema, bool(strict))


def chat_format(response_format: dict[str, Any] | None) -> OutputFormat | None:
    """Chat's ``response_format``: ``{"type": "json_schema", "json_schema": {...}}``."""
    if not response_format:
        return None
    spec = response_format.get("json_schema") or {}
    return _parsed(
        response_format.get("type"),
        spec.get("name"),
        spec.get("schema"),
        spec.get("strict"),
        "response_format",
    )


def responses_format(text: dict[str, Any] | None) -> OutputFormat | None:
    """The Responses API's ``text.format``: the schema fields sit on the format itself."""
    spec = (text or {}).get("format")
    if not spec:
        return None
    return _parsed(
        spec.get("type"), spec.get("name"), spec.get("schema"), spec.get("strict"), "text.format"
    )


def _object(fmt: OutputFormat, answer: str, sources: Sequence[str]) -> Any:
    if fmt.kind == JSON_OBJECT:
        return {"answer": answer, "sources": list(sources)}
    assert fmt.schema is not None
    return fill(fmt.schema, answer, sources=sources)


def check_local(fmt: OutputFormat, question: str) -> None:
    """Refuse, before anything runs, a schema no answer of a local model could fill."""
    if fmt.kind != JSON_SCHEMA or fmt.schema is None:
        return
    problem = first_error(fmt.schema, _object(fmt, question or "answer", ["source"]))
    if problem:
        raise InvalidRequest(
            f"{fmt.param}: the schema {fmt.name!r} cannot be filled from a local answer "
            f"({problem}). Loosen it, or ask a model answered by the upstream (GET /v1/models).",
            param=fmt.param,
        )


def local_json(fmt: OutputFormat, answer: str, sources: Sequence[str]) -> str:
    """A local answer as the JSON the client asked for."""
    value = _object(fmt, answer, sources)
    if fmt.schema is not None:
        problem = first_error(fmt.schema, value)
        if problem:  # check_local passed with the question; this answer does not fit
            raise InvalidRequest(
                f"{fmt.param}: this answer does not fit the schema {fmt.name!r} ({problem})",
                param=fmt.param,
            )
    return json.dumps(value, ensure_ascii=False)


def check_upstream(fmt: OutputFormat, text: str) -> None:
    """The upstream's answer is the JSON asked for, or a 502 saying how it is not."""
    try:
        value = json.loads(text)
    except ValueError:
        raise UpstreamInvalidOutput(
            f"the upstream model's answer is not JSON, although {fmt.param} asked for "
            f"{fmt.kind}: {text[:120]!r}"
        ) from None
    if fmt.kind == JSON_OBJECT and not isinstance(value, dict):
        raise UpstreamInvalidOutput("the upstream model's answer is JSON but not an object")
    if fmt.schema is not None:
        problem = first_error(fmt.schema, value)
        if problem:
            raise UpstreamInvalidOutput(
                f"the upstream model's answer does not match the schema {fmt.name!r}: {problem}"
            )

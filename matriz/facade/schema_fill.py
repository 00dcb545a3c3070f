"""Filling a JSON schema from a text: tool arguments from a question, structured outputs.

A local model has no sampler to write JSON with, so it fills the schema
deterministically from what the text states: an enum member the text names,
a number it holds (each number used once), a task key or a token matching a
``pattern``; text fields get the text itself, fields about sources get the
sources. Optional fields are filled only when the text states them. The
result is validated with ``jsonschema`` by the caller: a schema that cannot
be filled this way is a 400, never an object the client would choke on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_TASK_KEY = re.compile(r"(?:\b[A-Z][A-Z0-9]*-\d+\b|#\d+\b|\b[A-Z]\d+\b)")
TEXT_FIELDS = frozenset(
    {"query", "q", "question", "text", "prompt", "input", "search", "message", "term"}
    | {"answer", "summary", "response", "content", "reply", "explanation"}
)
_SOURCE_WORDS = ("source", "citation", "reference", "evidence", "memor")


class _Question:
    """What the question states, handed out once each (two number fields get two numbers)."""

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        self.lower = self.text.lower()
        self.numbers = [float(n) for n in _NUMBER.findall(self.text)]
        self.keys = _TASK_KEY.findall(self.text)

    def number(self, low: float | None, high: float | None) -> float | None:
        for value in self.numbers:
            if (low is None or value >= low) and (high is None or value <= high):
                self.numbers.remove(value)
                return value
        return None

    def names(self, value: Any) -> bool:
        return (
            isinstance(value, str)
            and re.search(rf"\b{re.escape(value.lower())}\b", self.lower) is not None
        )


class _Builder:
    """Builds one value per schema node; ``None`` means "the text does not say"."""

    def __init__(self, root: dict[str, Any], text: str, sources: Sequence[str] = ()) -> None:
        self.root = root
        self.question = _Question(text)
        self.sources = [s for s in sources if s]

    @staticmethod
    def about_sources(name: str) -> bool:
        return any(word in name.lower() for word in _SOURCE_WORDS)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                return {}
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node.get(part.replace("~1", "/").replace("~0", "~"), {})
            schema, seen = node, seen + 1
        return schema if isinstance(schema, dict) else {}

    def value(self, schema: dict[str, Any], name: str, *, required: bool) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            stated = [v for v in schema["enum"] if self.question.names(v)]
            if stated:
                return stated[0]
            return schema.get("default", schema["enum"][0]) if required else None
        options = schema.get("anyOf") or schema.get("oneOf")
        if options:
            return self._first_of(options, name, required=required)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            if not kinds:
                return None
            return self.value({**schema, "type": kinds[0]}, name, required=required)
        if kind == "object" or (kind is None and "properties" in schema):
            return self._object(schema, required=required)
        if kind == "array":
            return self._array(schema, name, required=required)
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer", required=required)
        if kind == "boolean":
            return schema.get("default", False) if required else None
        if kind == "null":
            return None
        return self._string(schema, name, required=required)

    def _first_of(self, options: list[dict[str, Any]], name: str, *, required: bool) -> Any:
        for option in options:
            if self.resolve(option).get("type") == "null":
                continue
            candidate = self.value(option, name, required=required)
            if candidate is not None and Draft202012Validator(
                {**self.resolve(option), "$defs": self.root.get("$defs", {})}
            ).is_valid(candidate):
                return candidate
        return None

    def _object(self, schema: dict[str, Any], *, required: bool) -> dict[str, Any] | None:
        needed = set(schema.get("required") or [])
        built: dict[str, Any] = {}
        for name, sub in (schema.get("properties") or {}).items():
            value = self.value(sub, name, required=name in needed)
            if value is not None or (name in needed and self._nullable(sub)):
                built[name] = value
        return built if built or required else None

    def _nullable(self, schema: dict[str, Any]) -> bool:
        schema = self.resolve(schema)
        kind = schema.get("type")
        options = schema.get("anyOf") or schema.get("oneOf") or []
        return (
            kind == "null"
            or (isinstance(kind, list) and "null" in kind)
            or any(self.resolve(o).get("type") == "null" for o in options)
        )

    def _array(self, schema: dict[str, Any], name: str, *, required: bool) -> list[Any] | None:
        least = int(schema.get("minItems") or 0)
        items = self.resolve(schema.get("items") or {})
        if self.about_sources(name) and items.get("type") in ("string", None):
            most = schema.get("maxItems")
            found = self.sources[: int(most)] if most is not None else list(self.sources)
            return found if len(found) >= least and (found or required) else None
        built = []
        # A stated value fills an optional array; a required one gets its minimum.
        for _ in range(least if required else max(least, 1)):
            value = self.value(items, name, required=least > 0)
            if value is None:
                break
            built.append(value)
        if len(built) < least:
            return None
        return built if built or required else None

    def _number(
        self, schema: dict[str, Any], *, integer: bool, required: bool
    ) -> float | int | None:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        value = self.question.number(low, high)
        if value is None or (integer and not float(value).is_integer()):
            if not required:
                return None
            value = schema.get("default", low if low is not None else 0)
        return int(value) if integer else value

    def _string(self, schema: dict[str, Any], name: str, *, required: bool) -> str | None:
        text = self.question.text
        pattern = schema.get("pattern")
        if pattern:
            for token in [*self.question.keys, *text.split(), text]:
                if re.search(pattern, token):
                    return token
            return None
        lowered = name.lower()
        if self.about_sources(lowered):
            return "\n".join(self.sources) if self.sources or required else None
        if ("key" in lowered or lowered.endswith("id")) and self.question.keys:
            return self.question.keys.pop(0)
        if not required and lowered not in TEXT_FIELDS:
            return None
        if "maxLength" in schema:
            text = text[: int(schema["maxLength"])]
        return text or None


def fill(schema: dict[str, Any], text: str, *, sources: Sequence[str] = ()) -> Any:
    """A value for ``schema`` built from ``text`` (and ``sources``, for source fields)."""
    return _Builder(schema, text, sources).value(schema, "", required=True)


def first_error(schema: dict[str, Any], value: Any) -> str | None:
    """Where and why ``value`` does not validate against ``schema`` (None when it does)."""
    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
    if not errors:
        return None
    where = "/".join(str(part) for part in errors[0].absolute_path) or "(root)"
    return f"{where}: {errors[0].message}"

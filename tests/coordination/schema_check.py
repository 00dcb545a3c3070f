"""A small JSON Schema checker for the keywords docs/schemas/*.json use.

jsonschema is not a dependency; this reads the documented schema itself, so a
test fails when the export and its schema drift apart. It knows: type, const,
enum, required, properties, additionalProperties, propertyNames, items,
minimum, minLength, oneOf, $ref (to #/$defs/...) and format date-time. An
unknown keyword is an error, so the schema cannot quietly outgrow the checker.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

KNOWN = {
    "$schema",
    "$id",
    "$defs",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "propertyNames",
    "items",
    "minimum",
    "minLength",
    "oneOf",
    "$ref",
    "format",
}

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def errors(document: Any, schema: dict, root: dict | None = None, where: str = "$") -> list[str]:
    root = root or schema
    unknown = set(schema) - KNOWN
    if unknown:
        return [f"{where}: schema uses keywords this checker does not know: {sorted(unknown)}"]
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        return errors(document, root["$defs"][ref.removeprefix("#/$defs/")], root, where)
    found: list[str] = []
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(TYPES[kind](document) for kind in kinds):
            return [f"{where}: {document!r} is not of type {kinds}"]
    if "const" in schema and document != schema["const"]:
        found.append(f"{where}: {document!r} is not {schema['const']!r}")
    if "enum" in schema and document not in schema["enum"]:
        found.append(f"{where}: {document!r} is not one of {schema['enum']}")
    if "minimum" in schema and TYPES["number"](document) and document < schema["minimum"]:
        found.append(f"{where}: {document} < {schema['minimum']}")
    if "minLength" in schema and isinstance(document, str) and len(document) < schema["minLength"]:
        found.append(f"{where}: {document!r} is shorter than {schema['minLength']}")
    if schema.get("format") == "date-time" and isinstance(document, str):
        try:
            datetime.fromisoformat(document.replace("Z", "+00:00"))
        except ValueError:
            found.append(f"{where}: {document!r} is not a date-time")
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not errors(document, s, root, where)]
        if len(matching) != 1:
            found.append(f"{where}: {document!r} matches {len(matching)} of oneOf, not 1")
    if isinstance(document, dict):
        for name in schema.get("required", []):
            if name not in document:
                found.append(f"{where}: missing required {name!r}")
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, value in document.items():
            if "propertyNames" in schema:
                found += errors(name, schema["propertyNames"], root, f"{where}.{name}(name)")
            if name in properties:
                found += errors(value, properties[name], root, f"{where}.{name}")
            elif extra is False:
                found.append(f"{where}: unexpected property {name!r}")
            elif isinstance(extra, dict):
                found += errors(value, extra, root, f"{where}.{name}")
    if isinstance(document, list) and "items" in schema:
        for index, item in enumerate(document):
            found += errors(item, schema["items"], root, f"{where}[{index}]")
    return found

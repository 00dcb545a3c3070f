"""Schema variants: ``allOf`` merged, ``anyOf``/``oneOf`` unions split and keyed."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from lukhas_site.openapi_diff.documents import _Doc

# Property names whose constant value tells object variants of a union apart.
_DISCRIMINATOR_NAMES = ("type", "object", "kind", "role")
_KEY_DEPTH = 3  # how deep an array's key looks into its items (cycles end here)


# --- schema variants ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Variant:
    """One alternative of a schema: a single JSON type with its (merged) keywords."""

    key: str  # "string", "null", "any", "object", "object(type=message)", "array<string>"
    atom: str  # the JSON type: string integer number boolean null object array any
    schema: dict[str, Any]
    ref: str | None  # the $ref it came from (nearest one), for cycle detection

    @property
    def label(self) -> str:
        """What a path shows when a union has several objects or arrays."""
        match = re.fullmatch(r"object\((.+)\)", self.key)
        return match.group(1) if match else self.key


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once (allOf): properties and required add up, types intersect."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties":
            merged = dict(out[key])
            for name, sub in value.items():
                merged[name] = {"allOf": [merged[name], sub]} if name in merged else sub
            out[key] = merged
        elif key == "required":
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key == "type":
            left = set(out[key]) if isinstance(out[key], list) else {out[key]}
            right = set(value) if isinstance(value, list) else {value}
            both = left & right or right
            out[key] = sorted(both) if len(both) > 1 else next(iter(both))
        elif key == "enum":
            kept = [v for v in out[key] if v in value]
            out[key] = kept
    return out


def _merge_all_of(doc: _Doc, schema: dict[str, Any], seen: frozenset[str]) -> dict[str, Any]:
    if "allOf" not in schema:
        return schema
    merged = {key: value for key, value in schema.items() if key != "allOf"}
    for part in schema["allOf"]:
        resolved, ref = doc.resolve(part)
        if ref is not None and ref in seen:
            continue  # allOf through a cycle adds nothing new
        inner = seen | {ref} if ref else seen
        merged = _merge(merged, _merge_all_of(doc, resolved, inner))
    return merged


def _infer_types(schema: dict[str, Any]) -> list[str]:
    if "type" in schema:
        declared = schema["type"]
        types = list(declared) if isinstance(declared, list) else [declared]
    elif "properties" in schema or isinstance(schema.get("additionalProperties"), dict):
        types = ["object"]
    elif "items" in schema:
        types = ["array"]
    elif "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        types = list(dict.fromkeys(_json_type(v) for v in values))
    else:
        types = ["any"]
    if schema.get("nullable") is True and "null" not in types:
        types.append("null")
    return types


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _const_of(doc: _Doc, schema: Any) -> object | None:
    resolved, _ = doc.resolve(schema)
    if "const" in resolved:
        return resolved["const"]
    enum = resolved.get("enum")
    if isinstance(enum, list) and len(enum) == 1:
        return enum[0]
    return None


def variants(
    doc: _Doc,
    schema: Any,
    *,
    inherited_ref: str | None = None,
    seen: frozenset[str] = frozenset(),
    depth: int = 0,
    discriminator: str | None = None,
) -> list[_Variant]:
    """The alternatives a schema allows, unions flattened and allOf merged."""
    resolved, own_ref = doc.resolve(schema)
    if own_ref is not None and own_ref in seen:
        return []  # a union or allOf that contains itself adds no alternative
    ref = own_ref or inherited_ref
    inner_seen = seen | {own_ref} if own_ref else seen
    merged = _merge_all_of(doc, resolved, inner_seen)
    union = merged.get("anyOf") or merged.get("oneOf")
    if union:
        hint = (merged.get("discriminator") or {}).get("propertyName") or discriminator
        members = [
            variant
            for member in union
            for variant in variants(
                doc, member, inherited_ref=ref, seen=inner_seen, depth=depth, discriminator=hint
            )
        ]
        counts = Counter(variant.key for variant in members)
        found: dict[str, _Variant] = {}
        for position, variant in enumerate(members, start=1):
            key = variant.key
            if counts[key] > 1 and variant.atom in {"object", "array"}:
                # Objects (or arrays of them) with nothing to tell them apart: by
                # the schema each references, else by position in the union.
                own = variant.ref if variant.ref != ref else None
                name = own.rsplit("/", 1)[-1] if own else f"#{position}"
                key = f"object({name})" if key == "object" else f"{key}({name})"
            found.setdefault(key, replace(variant, key=key))  # equal scalars collapse
        if merged.get("nullable") is True:
            found.setdefault("null", _Variant("null", "null", {"type": "null"}, ref))
        return list(found.values())
    out: list[_Variant] = []
    for atom in _infer_types(merged):
        single = {**merged, "type": atom}
        key = _variant_key(doc, atom, single, inner_seen, depth, discriminator)
        out.append(_Variant(key=key, atom=atom, schema=single, ref=ref))
    return out


def _variant_key(
    doc: _Doc,
    atom: str,
    schema: dict[str, Any],
    seen: frozenset[str],
    depth: int,
    discriminator: str | None,
) -> str:
    if atom == "object":
        properties = schema.get("properties") or {}
        names = [discriminator] if discriminator else []
        names += [n for n in _DISCRIMINATOR_NAMES if n != discriminator]
        for name in names:
            if name in properties:
                value = _const_of(doc, properties[name])
                if isinstance(value, str | int | bool):
                    return f"object({name}={value})"
        return "object"
    if atom == "array":
        if depth >= _KEY_DEPTH:
            return "array<…>"
        items = variants(doc, schema.get("items", {}), seen=seen, depth=depth + 1)
        return "array<" + "|".join(sorted(v.key for v in items)) + ">"
    return atom


def _covered(key: str, keys: Iterable[str]) -> bool:
    """Whether a value of variant ``key`` is still allowed by ``keys``."""
    keys = set(keys)
    return (
        key in keys
        or "any" in keys
        or (key == "integer" and "number" in keys)
        or (key.startswith("object(") and "object" in keys)
    )


def _enum_values(schema: dict[str, Any]) -> dict[str, object] | None:
    if "enum" in schema:
        values = schema["enum"]
    elif "const" in schema:
        values = [schema["const"]]
    else:
        return None
    return {json.dumps(v, sort_keys=True): v for v in values}


def _show(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name

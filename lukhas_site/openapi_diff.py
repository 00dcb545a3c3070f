"""Compare two OpenAPI documents and say which changes break clients.

Pure Python, no Django: ``diff_specs(base, candidate)`` takes two parsed
documents (3.0 or 3.1) and returns a :class:`SpecDiff` listing added,
removed and changed operations, each change marked breaking or not. The
``openapi_diff`` management command and ``make openapi-diff`` print it;
``docs/contract.md`` lists the rules and why each is one.

Operations are matched by method and path template with parameter names
blanked (``/v1/indexes/{id}`` and ``/v1/indexes/{index_id}`` are the same
operation: the wire does not see the name). Schemas are compared after
resolving local ``$ref`` s and merging ``allOf``; ``anyOf``/``oneOf`` unions
are compared variant by variant. Recursive schemas stop at the first pair of
references seen twice, so a cycle is walked once. A schema in
``components`` that no operation uses is not compared: only what a client
can reach matters.

Direction decides what breaks. What a client *sends* (bodies, parameters)
must still be accepted: a narrowed type, a removed enum value, a tighter
limit or a new required field breaks old clients. What a client *reads*
(response bodies) must still be what it was told: a removed field, a field
that may now be absent, a widened or changed type, a new enum value break
readers. The two judgement calls are in :class:`Rules`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Direction = Literal["request", "response"]

# Bounds whose higher value accepts less, and those whose lower value does.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
# Property names whose constant value tells object variants of a union apart.
_DISCRIMINATOR_NAMES = ("type", "object", "kind", "role")
_KEY_DEPTH = 3  # how deep an array's key looks into its items (cycles end here)


class SpecError(ValueError):
    """The document is not an OpenAPI document we can read (bad JSON, dangling $ref)."""


@dataclass(frozen=True, slots=True)
class Rules:
    """The judgement calls, in one place (``docs/contract.md`` argues each).

    ``response_narrowing_is_breaking``: a response field whose type set
    shrinks (``string | null`` → ``string``) cannot crash a reader, but the
    issue that asked for this tool counts it as a contract change someone
    must approve, so it is breaking by default.

    ``response_enum_added_is_breaking``: a new value in a response enum
    breaks clients with closed enums (generated SDKs, exhaustive ``match``);
    OpenAI's own SDK tolerates it, ours cannot know every client, so it is
    breaking. A value removed from a response enum is never breaking.
    """

    response_narrowing_is_breaking: bool = True
    response_enum_added_is_breaking: bool = True


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # stable id, e.g. "response.property.removed"
    where: str  # "body: messages[].role", "response 200: data[].id", "query parameter limit"
    message: str
    breaking: bool


@dataclass(frozen=True, slots=True)
class Operation:
    method: str  # upper case
    path: str
    operation_id: str | None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "operation_id": self.operation_id}


@dataclass(slots=True)
class OperationDiff:
    base: Operation
    candidate: Operation
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [change for change in self.changes if change.breaking]


@dataclass(slots=True)
class SpecDiff:
    added: list[Operation] = field(default_factory=list)
    removed: list[Operation] = field(default_factory=list)
    changed: list[OperationDiff] = field(default_factory=list)

    @property
    def breaking_count(self) -> int:
        """Removed operations count as one breaking change each."""
        return len(self.removed) + sum(len(diff.breaking) for diff in self.changed)

    @property
    def is_breaking(self) -> bool:
        return self.breaking_count > 0

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "breaking": self.is_breaking,
            "summary": {
                "added": len(self.added),
                "removed": len(self.removed),
                "changed": len(self.changed),
                "breaking_changes": self.breaking_count,
            },
            "added": [op.to_dict() for op in self.added],
            "removed": [{**op.to_dict(), "breaking": True} for op in self.removed],
            "changed": [
                {
                    **diff.candidate.to_dict(),
                    "base_operation_id": diff.base.operation_id,
                    "changes": [asdict(change) for change in diff.changes],
                }
                for diff in self.changed
            ],
        }

    def to_text(self) -> str:
        lines = [
            f"OpenAPI diff: {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed operations; {self.breaking_count} breaking changes."
        ]

        def name(op: Operation) -> str:
            return f"{op.label} ({op.operation_id})" if op.operation_id else op.label

        if self.removed:
            lines += ["", "Removed operations:"]
            lines += [f"  - {name(op)}  BREAKING" for op in self.removed]
        if self.added:
            lines += ["", "Added operations:"]
            lines += [f"  + {name(op)}" for op in self.added]
        if self.changed:
            lines += ["", "Changed operations:"]
            for diff in self.changed:
                lines.append(f"  ~ {name(diff.candidate)}")
                for change in diff.changes:
                    flag = "BREAKING    " if change.breaking else "non-breaking"
                    lines.append(f"      {flag}  {change.where}: {change.message}")
        return "\n".join(lines) + "\n"


# --- reading documents -------------------------------------------------------


def render_spec(schema: dict[str, Any]) -> str:
    """The one serialisation of a committed spec: sorted keys, 2-space indent, final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a JSON (or YAML) OpenAPI document; :class:`SpecError` says what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        spec = yaml.safe_load(text) if path.suffix in {".yaml", ".yml"} else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(f"{path} is not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("paths", {}), dict):
        raise SpecError(f"{path} is not an OpenAPI document (no 'paths' object)")
    return spec


class _Doc:
    """One document with its local ``$ref`` resolution."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise SpecError(f"only local $refs are supported, not {ref!r}")
        node: Any = self.spec
        for raw in ref[1:].split("/")[1:]:
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SpecError(f"$ref {ref!r} points at nothing")
        return node

    def resolve(self, node: Any) -> tuple[dict[str, Any], str | None]:
        """Follow a chain of $refs; returns the target and the last ref followed."""
        ref = None
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:  # a $ref that is only itself: nothing to compare
                return {}, ref
            seen.add(ref)
            node = self.pointer(ref)
        return (node if isinstance(node, dict) else {}), ref


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


# --- the walker --------------------------------------------------------------


class _SchemaWalker:
    """Compares the schemas of one operation in one direction, collecting changes."""

    def __init__(
        self,
        base: _Doc,
        cand: _Doc,
        *,
        direction: Direction,
        rules: Rules,
        changes: list[Change],
    ) -> None:
        self.base = base
        self.cand = cand
        self.direction = direction
        self.rules = rules
        self.changes = changes
        # Pairs of (base ref, candidate ref, keys) already compared: ends cycles
        # and reports a schema shared by several fields once per operation.
        self.seen: set[tuple[str, str, str, str]] = set()

    def add(self, kind: str, where: str, message: str, *, breaking: bool) -> None:
        self.changes.append(Change(f"{self.direction}.{kind}", where, message, breaking))

    def where(self, prefix: str, path: str) -> str:
        return f"{prefix}: {path}" if path else prefix

    def compare(self, b_schema: Any, c_schema: Any, prefix: str, path: str = "") -> None:
        b_variants = variants(self.base, b_schema)
        c_variants = variants(self.cand, c_schema)
        self._compare_variant_sets(b_variants, c_variants, prefix, path)

    def _compare_variant_sets(
        self, b_variants: list[_Variant], c_variants: list[_Variant], prefix: str, path: str
    ) -> None:
        b_keys = {v.key: v for v in b_variants}
        c_keys = {v.key: v for v in c_variants}
        pairs = [(b_keys[k], c_keys[k]) for k in b_keys if k in c_keys]
        b_left = [v for k, v in b_keys.items() if k not in c_keys]
        c_left = [v for k, v in c_keys.items() if k not in b_keys]
        # One object (or array) on each side whose keys differ — a renamed
        # schema, an item type that changed — is the same field: look inside.
        for atom in ("object", "array"):
            b_one = [v for v in b_left if v.atom == atom]
            c_one = [v for v in c_left if v.atom == atom]
            if len(b_one) == 1 and len(c_one) == 1:
                pairs.append((b_one[0], c_one[0]))
                b_left.remove(b_one[0])
                c_left.remove(c_one[0])
        narrowed = [v.key for v in b_left if not _covered(v.key, c_keys)]
        widened = [v.key for v in c_left if not _covered(v.key, b_keys)]
        if narrowed or widened:
            how = "changed" if narrowed and widened else "narrowed" if narrowed else "widened"
            if self.direction == "request":
                breaking = bool(narrowed)
            else:
                breaking = bool(widened) or (
                    bool(narrowed) and self.rules.response_narrowing_is_breaking
                )
            before = " | ".join(b_keys) or "nothing"
            after = " | ".join(c_keys) or "nothing"
            message = f"type {how}: {before} → {after}"
            if len(b_keys) > 1 or len(c_keys) > 1:  # say which alternative moved
                detail = [f"no longer {_show(narrowed)}"] if narrowed else []
                detail += [f"now also {_show(widened)}"] if widened else []
                message += f" ({'; '.join(detail)})"
            self.add(f"type.{how}", self.where(prefix, path), message, breaking=breaking)
        several = {
            atom
            for atom in ("object", "array")
            if max(sum(v.atom == atom for v in b_variants), sum(v.atom == atom for v in c_variants))
            > 1
        }
        for b_var, c_var in pairs:
            sub = f"{path}<{b_var.label}>" if b_var.atom in several else path
            self._compare_variant(b_var, c_var, prefix, sub)

    def _compare_variant(self, b: _Variant, c: _Variant, prefix: str, path: str) -> None:
        if b.ref and c.ref:
            mark = (b.ref, c.ref, b.key, c.key)
            if mark in self.seen:
                return
            self.seen.add(mark)
        if b.atom == "object" and c.atom == "object":
            self._compare_objects(b, c, prefix, path)
        elif b.atom == "array" and c.atom == "array":
            b_items = variants(self.base, b.schema.get("items", {}), inherited_ref=None)
            c_items = variants(self.cand, c.schema.get("items", {}), inherited_ref=None)
            self._compare_variant_sets(b_items, c_items, prefix, f"{path}[]")
        self._compare_enum(b.schema, c.schema, prefix, path)
        if self.direction == "request":
            self._compare_bounds(b.schema, c.schema, prefix, path)

    def _compare_objects(self, b: _Variant, c: _Variant, prefix: str, path: str) -> None:
        b_props = b.schema.get("properties") or {}
        c_props = c.schema.get("properties") or {}
        b_required = set(b.schema.get("required") or ())
        c_required = set(c.schema.get("required") or ())
        c_closed = c.schema.get("additionalProperties") is False
        request = self.direction == "request"
        for name, b_sub in b_props.items():
            where = self.where(prefix, _join(path, name))
            if name not in c_props:
                if request:
                    self.add(
                        "property.removed",
                        where,
                        "field removed; old clients that send it are now refused"
                        if c_closed
                        else "field removed; the server now ignores it",
                        breaking=c_closed,
                    )
                else:
                    self.add("property.removed", where, "field removed", breaking=True)
                continue
            if name in b_required and name not in c_required:
                self.add(
                    "property.optional",
                    where,
                    "no longer required" if request else "may now be absent",
                    breaking=not request,
                )
            elif name not in b_required and name in c_required:
                self.add(
                    "property.required",
                    where,
                    "now required" if request else "now always present",
                    breaking=request,
                )
            self.compare(b_sub, c_props[name], prefix, _join(path, name))
        for name in c_props:
            if name in b_props:
                continue
            where = self.where(prefix, _join(path, name))
            if request and name in c_required:
                self.add("property.added", where, "new required field", breaking=True)
            elif request:
                self.add("property.added", where, "new optional field", breaking=False)
            else:
                self.add("property.added", where, "new field", breaking=False)
        b_extra = b.schema.get("additionalProperties", True)
        c_extra = c.schema.get("additionalProperties", True)
        where = self.where(prefix, path or "(object)")
        if request and b_extra is not False and c_extra is False:
            self.add("properties.closed", where, "unknown fields are now refused", breaking=True)
        elif request and b_extra is False and c_extra is not False:
            self.add("properties.opened", where, "unknown fields are now accepted", breaking=False)
        # A map (dict[str, X]): compare the values' schemas.
        maps = isinstance(b_extra, dict) or isinstance(c_extra, dict)
        if maps and b_extra is not False and c_extra is not False:
            self.compare(
                b_extra if isinstance(b_extra, dict) else {},
                c_extra if isinstance(c_extra, dict) else {},
                prefix,
                _join(path, "*"),
            )

    def _compare_enum(
        self, b_schema: dict[str, Any], c_schema: dict[str, Any], prefix: str, path: str
    ) -> None:
        b_enum, c_enum = _enum_values(b_schema), _enum_values(c_schema)
        if b_enum is None and c_enum is None:
            return
        where = self.where(prefix, path)
        request = self.direction == "request"
        if b_enum is None:
            self.add(
                "enum.introduced",
                where,
                f"values now limited to {_show(c_enum or ())}",
                breaking=request,
            )
            return
        if c_enum is None:
            self.add(
                "enum.dropped",
                where,
                f"values no longer limited to {_show(b_enum)}",
                breaking=not request and self.rules.response_enum_added_is_breaking,
            )
            return
        removed = [k for k in b_enum if k not in c_enum]
        added = [k for k in c_enum if k not in b_enum]
        if removed:
            self.add(
                "enum.narrowed",
                where,
                f"values removed: {_show(removed)}",
                breaking=request,
            )
        if added:
            self.add(
                "enum.widened",
                where,
                f"values added: {_show(added)}"
                + ("" if request else " (clients with a closed enum may reject them)"),
                breaking=not request and self.rules.response_enum_added_is_breaking,
            )

    def _compare_bounds(
        self, b_schema: dict[str, Any], c_schema: dict[str, Any], prefix: str, path: str
    ) -> None:
        where = self.where(prefix, path)
        for name in (*_LOWER_BOUNDS, *_UPPER_BOUNDS):
            b_val, c_val = b_schema.get(name), c_schema.get(name)
            # OpenAPI 3.0 writes exclusiveMinimum as a flag: only numbers compare.
            if isinstance(b_val, bool) or isinstance(c_val, bool) or b_val == c_val:
                continue
            if c_val is None:
                self.add("bound.relaxed", where, f"{name} {b_val} removed", breaking=False)
            elif b_val is None:
                self.add("bound.tightened", where, f"new {name} {c_val}", breaking=True)
            elif (c_val > b_val) == (name in _LOWER_BOUNDS):
                self.add("bound.tightened", where, f"{name} {b_val} → {c_val}", breaking=True)
            else:
                self.add("bound.relaxed", where, f"{name} {b_val} → {c_val}", breaking=False)
        b_pattern, c_pattern = b_schema.get("pattern"), c_schema.get("pattern")
        if b_pattern != c_pattern:
            if c_pattern is None:
                self.add("pattern.removed", where, f"pattern {b_pattern!r} removed", breaking=False)
            else:
                # Whether one regex accepts all that another did is undecidable in
                # general: a new or different pattern is treated as tighter.
                self.add(
                    "pattern.changed",
                    where,
                    f"pattern {b_pattern!r} → {c_pattern!r}",
                    breaking=True,
                )


# --- operations --------------------------------------------------------------


def _template(path: str) -> str:
    return re.sub(r"\{[^}/]+\}", "{}", path)


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], tuple[str, dict, dict]]:
    found: dict[tuple[str, str], tuple[str, dict, dict]] = {}
    for path, item in (spec.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                found[(method.upper(), _template(path))] = (path, item, operation)
    return found


def _sort_key(key: tuple[str, str]) -> tuple[str, int]:
    method, path = key
    return path, HTTP_METHODS.index(method.lower())


def _parameters(doc: _Doc, item: dict, operation: dict) -> dict[tuple[str, str], dict]:
    """Path-level then operation-level parameters (the latter win), by (in, name)."""
    found: dict[tuple[str, str], dict] = {}
    for raw in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
        param, _ = doc.resolve(raw)
        where, name = param.get("in", "?"), str(param.get("name", "?"))
        found[(where, name.lower() if where == "header" else name)] = param
    return found


def _param_schema(param: dict) -> Any:
    if "schema" in param:
        return param["schema"]
    for media in (param.get("content") or {}).values():
        return media.get("schema", {})
    return {}


def _security(spec: dict, operation: dict) -> list[frozenset[str]]:
    requirements = operation.get("security", spec.get("security")) or []
    return [frozenset(requirement) for requirement in requirements]


class _OperationComparer:
    def __init__(self, base: _Doc, cand: _Doc, rules: Rules) -> None:
        self.base, self.cand, self.rules = base, cand, rules

    def compare(
        self, b: tuple[str, dict, dict], c: tuple[str, dict, dict], diff: OperationDiff
    ) -> None:
        changes = diff.changes
        (b_path, b_item, b_op), (c_path, c_item, c_op) = b, c
        if diff.base.operation_id != diff.candidate.operation_id:
            changes.append(
                Change(
                    "operation.id.changed",
                    "operationId",
                    f"{diff.base.operation_id} → {diff.candidate.operation_id} "
                    "(method names of generated SDKs change)",
                    breaking=False,
                )
            )
        if not b_op.get("deprecated") and c_op.get("deprecated"):
            changes.append(Change("operation.deprecated", "operation", "now deprecated", False))
        self._security(b_op, c_op, changes)
        request = _SchemaWalker(
            self.base, self.cand, direction="request", rules=self.rules, changes=changes
        )
        self._parameters(b_path, b_item, b_op, c_path, c_item, c_op, request)
        self._body(b_op, c_op, request)
        response = _SchemaWalker(
            self.base, self.cand, direction="response", rules=self.rules, changes=changes
        )
        self._responses(b_op, c_op, response)

    def _security(self, b_op: dict, c_op: dict, changes: list[Change]) -> None:
        b_sec, c_sec = _security(self.base.spec, b_op), _security(self.cand.spec, c_op)
        if set(b_sec) == set(c_sec):
            return
        b_open = not b_sec or frozenset() in b_sec
        c_open = not c_sec or frozenset() in c_sec
        shown = " or ".join("+".join(sorted(r)) or "none" for r in c_sec) or "none"
        changes.append(
            Change(
                "operation.security.changed",
                "security",
                f"now {shown}"
                + (" (anonymous calls are refused)" if b_open and not c_open else ""),
                breaking=b_open and not c_open,
            )
        )

    def _parameters(
        self,
        b_path: str,
        b_item: dict,
        b_op: dict,
        c_path: str,
        c_item: dict,
        c_op: dict,
        walker: _SchemaWalker,
    ) -> None:
        b_params = _parameters(self.base, b_item, b_op)
        c_params = _parameters(self.cand, c_item, c_op)
        # Path parameters are matched by position: renaming one does not change the wire.
        b_names = re.findall(r"\{([^}/]+)\}", b_path)
        c_names = re.findall(r"\{([^}/]+)\}", c_path)
        for b_name, c_name in zip(b_names, c_names, strict=False):
            where = f"path parameter {c_name}"
            if b_name != c_name:
                walker.add("parameter.renamed", where, f"renamed from {b_name}", breaking=False)
            walker.compare(
                _param_schema(b_params.get(("path", b_name), {})),
                _param_schema(c_params.get(("path", c_name), {})),
                where,
            )
        for key, b_param in b_params.items():
            if key[0] == "path":
                continue
            where = f"{key[0]} parameter {key[1]}"
            c_param = c_params.get(key)
            if c_param is None:
                walker.add("parameter.removed", where, "parameter removed", breaking=False)
                continue
            if not b_param.get("required") and c_param.get("required"):
                walker.add("parameter.required", where, "now required", breaking=True)
            elif b_param.get("required") and not c_param.get("required"):
                walker.add("parameter.optional", where, "no longer required", breaking=False)
            walker.compare(_param_schema(b_param), _param_schema(c_param), where)
        for key, c_param in c_params.items():
            if key[0] == "path" or key in b_params:
                continue
            required = bool(c_param.get("required"))
            walker.add(
                "parameter.added",
                f"{key[0]} parameter {key[1]}",
                "new required parameter" if required else "new optional parameter",
                breaking=required,
            )

    def _body(self, b_op: dict, c_op: dict, walker: _SchemaWalker) -> None:
        b_body, _ = self.base.resolve(b_op.get("requestBody"))
        c_body, _ = self.cand.resolve(c_op.get("requestBody"))
        if not b_body and not c_body:
            return
        if not c_body:
            walker.add("body.removed", "body", "request body removed", breaking=False)
            return
        if not b_body:
            required = bool(c_body.get("required"))
            walker.add(
                "body.added",
                "body",
                "new required request body" if required else "new optional request body",
                breaking=required,
            )
            return
        if not b_body.get("required") and c_body.get("required"):
            walker.add("body.required", "body", "request body now required", breaking=True)
        b_content = b_body.get("content") or {}
        c_content = c_body.get("content") or {}
        for media, b_media in b_content.items():
            where = "body" if media == "application/json" else f"body {media}"
            if media not in c_content:
                walker.add(
                    "body.media.removed", where, f"{media} no longer accepted", breaking=True
                )
                continue
            walker.compare(b_media.get("schema", {}), c_content[media].get("schema", {}), where)
        for media in c_content:
            if media not in b_content:
                walker.add("body.media.added", "body", f"{media} now accepted", breaking=False)

    def _responses(self, b_op: dict, c_op: dict, walker: _SchemaWalker) -> None:
        b_responses = b_op.get("responses") or {}
        c_responses = c_op.get("responses") or {}
        for status, b_raw in b_responses.items():
            where = f"response {status}"
            if status not in c_responses:
                walker.add("status.removed", where, "status code removed", breaking=True)
                continue
            b_resp, _ = self.base.resolve(b_raw)
            c_resp, _ = self.cand.resolve(c_responses[status])
            b_headers = {k.lower(): v for k, v in (b_resp.get("headers") or {}).items()}
            c_headers = {k.lower(): v for k, v in (c_resp.get("headers") or {}).items()}
            for name in b_headers:
                if name not in c_headers:
                    walker.add("header.removed", where, f"header {name} removed", breaking=True)
            for name in c_headers:
                if name not in b_headers:
                    walker.add("header.added", where, f"header {name} added", breaking=False)
            b_content = b_resp.get("content") or {}
            c_content = c_resp.get("content") or {}
            for media, b_media in b_content.items():
                media_where = where if media == "application/json" else f"{where} {media}"
                if media not in c_content:
                    walker.add(
                        "media.removed", media_where, f"{media} no longer returned", breaking=True
                    )
                    continue
                walker.compare(
                    b_media.get("schema", {}), c_content[media].get("schema", {}), media_where
                )
            for media in c_content:
                if media not in b_content:
                    walker.add("media.added", where, f"{media} now returned", breaking=False)
        for status in c_responses:
            if status not in b_responses:
                walker.add(
                    "status.added", f"response {status}", "status code added", breaking=False
                )


def diff_specs(
    base: dict[str, Any], candidate: dict[str, Any], *, rules: Rules | None = None
) -> SpecDiff:
    """What changed from ``base`` to ``candidate``, each change marked breaking or not."""
    rules = rules or Rules()
    base_doc, cand_doc = _Doc(base), _Doc(candidate)
    b_ops, c_ops = _operations(base), _operations(candidate)
    result = SpecDiff()
    comparer = _OperationComparer(base_doc, cand_doc, rules)
    for key in sorted(b_ops.keys() | c_ops.keys(), key=_sort_key):
        if key not in c_ops:
            path, _, op = b_ops[key]
            result.removed.append(Operation(key[0], path, op.get("operationId")))
        elif key not in b_ops:
            path, _, op = c_ops[key]
            result.added.append(Operation(key[0], path, op.get("operationId")))
        else:
            b_path, _, b_op = b_ops[key]
            c_path, _, c_op = c_ops[key]
            diff = OperationDiff(
                base=Operation(key[0], b_path, b_op.get("operationId")),
                candidate=Operation(key[0], c_path, c_op.get("operationId")),
            )
            comparer.compare(b_ops[key], c_ops[key], diff)
            if diff.changes:
                result.changed.append(diff)
    return result

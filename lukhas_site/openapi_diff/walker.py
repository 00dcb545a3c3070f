"""The schema walker: compares a base and a candidate schema, direction by direction."""

from __future__ import annotations

from typing import Any

from lukhas_site.openapi_diff.documents import _Doc
from lukhas_site.openapi_diff.model import Change, Direction, Rules
from lukhas_site.openapi_diff.schemas import (
    _covered,
    _enum_values,
    _join,
    _show,
    _Variant,
    variants,
)

# Bounds whose higher value accepts less, and those whose lower value does.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


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

"""Reading OpenAPI documents (JSON or YAML) and resolving their local ``$ref`` s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from lukhas_site.openapi_diff.model import SpecError

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

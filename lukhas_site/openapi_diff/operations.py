"""Operations: matched by method and path template, compared parameter by parameter."""

from __future__ import annotations

import re
from typing import Any

from lukhas_site.openapi_diff.documents import _Doc
from lukhas_site.openapi_diff.model import (
    HTTP_METHODS,
    Change,
    Operation,
    OperationDiff,
    Rules,
    SpecDiff,
)
from lukhas_site.openapi_diff.walker import _SchemaWalker

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

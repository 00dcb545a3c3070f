"""The OpenAPI diff engine, rule by rule, on small hand-written documents."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lukhas_site.openapi_diff import Rules, SpecError, diff_specs, load_spec, render_spec

REF = "#/components/schemas/"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
NULL = {"type": "null"}


def spec(
    *,
    path: str = "/v1/things",
    method: str = "post",
    operation_id: str = "things_create",
    body: dict | None = None,
    response: dict | None = None,
    parameters: list[dict] | None = None,
    schemas: dict[str, Any] | None = None,
    responses: dict[str, Any] | None = None,
    extra_paths: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One operation, a JSON body and a 200 JSON response."""
    operation: dict[str, Any] = {"operationId": operation_id}
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    if parameters is not None:
        operation["parameters"] = parameters
    operation["responses"] = responses or {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": response or ref("Thing")}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {path: {method: operation}, **(extra_paths or {})},
        "components": {"schemas": schemas or {"Thing": obj(("id",), id=STRING)}},
    }


def changes(base: dict, cand: dict, **kwargs: Any) -> list[tuple[str, str, bool]]:
    """(kind, where, breaking) of every change of the one changed operation."""
    result = diff_specs(base, cand, **kwargs)
    assert not result.added and not result.removed
    return [(c.kind, c.where, c.breaking) for d in result.changed for c in d.changes]


# --- operations ------------------------------------------------------------


def test_it_finds_nothing_between_equal_documents():
    base = spec()
    result = diff_specs(base, copy.deepcopy(base))
    assert result.is_empty
    assert not result.is_breaking
    assert "0 breaking changes" in result.to_text()


def test_it_lists_an_added_operation_as_non_breaking():
    base = spec()
    cand = spec(extra_paths={"/v1/things/{id}": {"get": {"operationId": "things_get"}}})
    result = diff_specs(base, cand)
    assert [(op.method, op.path, op.operation_id) for op in result.added] == [
        ("GET", "/v1/things/{id}", "things_get")
    ]
    assert not result.is_breaking


def test_it_flags_a_removed_operation_as_breaking():
    base = spec(extra_paths={"/v1/things/{id}": {"delete": {"operationId": "things_delete"}}})
    result = diff_specs(base, spec())
    assert [op.label for op in result.removed] == ["DELETE /v1/things/{id}"]
    assert result.is_breaking
    assert result.breaking_count == 1
    assert "DELETE /v1/things/{id} (things_delete)  BREAKING" in result.to_text()


def test_it_matches_operations_whose_path_parameter_was_renamed():
    param = {"in": "path", "name": "id", "required": True, "schema": STRING}
    base = spec(path="/v1/things/{id}", method="get", parameters=[param])
    cand = spec(
        path="/v1/things/{thing_id}", method="get", parameters=[{**param, "name": "thing_id"}]
    )
    assert changes(base, cand) == [("request.parameter.renamed", "path parameter thing_id", False)]


def test_it_reports_a_renamed_operation_id_without_breaking():
    result = diff_specs(spec(), spec(operation_id="things_make"))
    (diff,) = result.changed
    assert diff.base.operation_id == "things_create"
    assert diff.candidate.operation_id == "things_make"
    assert [(c.kind, c.breaking) for c in diff.changes] == [("operation.id.changed", False)]


def test_it_flags_an_operation_that_now_requires_auth():
    base = spec()
    cand = copy.deepcopy(base)
    cand["paths"]["/v1/things"]["post"]["security"] = [{"BearerAuth": []}]
    assert changes(base, cand) == [("operation.security.changed", "security", True)]
    assert changes(cand, base) == [("operation.security.changed", "security", False)]


# --- responses ---------------------------------------------------------------


def test_it_flags_a_removed_response_field_behind_a_ref():
    base = spec(schemas={"Thing": obj(("id", "name"), id=STRING, name=STRING)})
    cand = spec(schemas={"Thing": obj(("id",), id=STRING)})
    assert changes(base, cand) == [("response.property.removed", "response 200: name", True)]


def test_it_flags_a_retyped_response_field():
    base = spec(schemas={"Thing": obj(("id",), id=STRING)})
    cand = spec(schemas={"Thing": obj(("id",), id=INTEGER)})
    result = diff_specs(base, cand)
    (change,) = result.changed[0].changes
    assert (change.kind, change.where, change.breaking) == (
        "response.type.changed",
        "response 200: id",
        True,
    )
    assert change.message == "type changed: string → integer"


def test_it_flags_a_response_field_that_may_now_be_null():
    base = spec(schemas={"Thing": obj(("id",), id=STRING)})
    cand = spec(schemas={"Thing": obj(("id",), id={"anyOf": [STRING, NULL]})})
    assert changes(base, cand) == [("response.type.widened", "response 200: id", True)]


def test_it_flags_a_narrowed_response_type_unless_the_rules_relax_it():
    base = spec(schemas={"Thing": obj(("id",), id={"anyOf": [STRING, NULL]})})
    cand = spec(schemas={"Thing": obj(("id",), id=STRING)})
    assert changes(base, cand) == [("response.type.narrowed", "response 200: id", True)]
    relaxed = Rules(response_narrowing_is_breaking=False)
    assert changes(base, cand, rules=relaxed) == [
        ("response.type.narrowed", "response 200: id", False)
    ]


def test_it_reads_openapi_30_nullable():
    base = spec(schemas={"Thing": obj(("id",), id=STRING)})
    cand = spec(schemas={"Thing": obj(("id",), id={"type": "string", "nullable": True})})
    assert changes(base, cand) == [("response.type.widened", "response 200: id", True)]


def test_it_accepts_new_response_fields_optional_or_required():
    base = spec(schemas={"Thing": obj(("id",), id=STRING)})
    cand = spec(schemas={"Thing": obj(("id", "a"), id=STRING, a=STRING, b=INTEGER)})
    assert changes(base, cand) == [
        ("response.property.added", "response 200: a", False),
        ("response.property.added", "response 200: b", False),
    ]


def test_it_flags_a_response_field_that_may_now_be_absent():
    base = spec(schemas={"Thing": obj(("id",), id=STRING)})
    cand = spec(schemas={"Thing": obj((), id=STRING)})
    assert changes(base, cand) == [("response.property.optional", "response 200: id", True)]
    assert changes(cand, base) == [("response.property.required", "response 200: id", False)]


def test_it_walks_arrays_and_nested_objects():
    def listing(item: dict) -> dict:
        return {"List": obj(("data",), data={"type": "array", "items": ref("Item")}), "Item": item}

    base = spec(
        response=ref("List"),
        schemas=listing(obj(("id", "owner"), id=STRING, owner=obj(("name",), name=STRING))),
    )
    cand = spec(
        response=ref("List"),
        schemas=listing(obj(("id", "owner"), id=STRING, owner=obj((), name=INTEGER))),
    )
    assert changes(base, cand) == [
        ("response.property.optional", "response 200: data[].owner.name", True),
        ("response.type.changed", "response 200: data[].owner.name", True),
    ]


def test_it_walks_map_values():
    base = spec(response={"type": "object", "additionalProperties": STRING})
    cand = spec(response={"type": "object", "additionalProperties": INTEGER})
    assert changes(base, cand) == [("response.type.changed", "response 200: *", True)]


def _output_union(*variants: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Out": obj(("output",), output={"type": "array", "items": {"anyOf": []}})
    }
    for name in variants:
        schemas[name] = obj(
            ("type", "id"), type={"const": name.lower(), "type": "string"}, id=STRING
        )
        schemas["Out"]["properties"]["output"]["items"]["anyOf"].append(ref(name))
    return schemas


def test_it_compares_union_variants_by_their_discriminator():
    base = spec(response=ref("Out"), schemas=_output_union("Message", "Reasoning"))
    cand = spec(response=ref("Out"), schemas=_output_union("Message", "Reasoning", "Tool"))
    assert changes(base, cand) == [("response.type.widened", "response 200: output[]", True)]
    # A variant lost from a response union: narrowed.
    assert changes(cand, base) == [("response.type.narrowed", "response 200: output[]", True)]


def test_it_labels_a_change_inside_one_union_variant():
    base = spec(response=ref("Out"), schemas=_output_union("Message", "Reasoning"))
    cand = copy.deepcopy(base)
    del cand["components"]["schemas"]["Reasoning"]["properties"]["id"]
    assert changes(base, cand) == [
        ("response.property.removed", "response 200: output[]<type=reasoning>.id", True)
    ]


def test_it_tells_apart_union_objects_without_a_discriminator_by_their_schema():
    def schemas(bar_code: dict) -> dict:
        return {
            "Foo": obj(("name",), name=STRING),
            "Bar": obj(("code",), code=bar_code),
            "Thing": obj(("item",), item={"anyOf": [ref("Foo"), ref("Bar")]}),
        }

    base = spec(schemas=schemas(INTEGER))
    assert diff_specs(base, copy.deepcopy(base)).is_empty
    assert changes(base, spec(schemas=schemas(STRING))) == [
        ("response.type.changed", "response 200: item<Bar>.code", True)
    ]


def test_it_tells_apart_arrays_of_different_objects():
    def schemas(bar_code: dict) -> dict:
        return {
            "Foo": obj(("name",), name=STRING),
            "Bar": obj(("code",), code=bar_code),
            "Thing": obj(
                ("items",),
                items={
                    "anyOf": [
                        {"type": "array", "items": ref("Foo")},
                        {"type": "array", "items": ref("Bar")},
                    ]
                },
            ),
        }

    base = spec(schemas=schemas(INTEGER))
    assert diff_specs(base, copy.deepcopy(base)).is_empty
    found = changes(base, spec(schemas=schemas(STRING)))
    assert found == [
        ("response.type.changed", "response 200: items<array<object>(#2)>[].code", True)
    ]


def test_it_flags_a_new_response_enum_value_and_not_a_removed_one():
    base = spec(schemas={"Thing": obj(("status",), status={"enum": ["queued", "done"]})})
    cand = spec(schemas={"Thing": obj(("status",), status={"enum": ["queued", "done", "failed"]})})
    assert changes(base, cand) == [("response.enum.widened", "response 200: status", True)]
    assert changes(cand, base) == [("response.enum.narrowed", "response 200: status", False)]
    relaxed = Rules(response_enum_added_is_breaking=False)
    assert changes(base, cand, rules=relaxed) == [
        ("response.enum.widened", "response 200: status", False)
    ]


def test_it_flags_removed_status_codes_and_media_types():
    ok = {"description": "OK", "content": {"application/json": {"schema": ref("Thing")}}}
    both = {"200": ok, "404": {"description": "Not found"}}
    stream = {
        "200": {
            "description": "OK",
            "content": {
                "application/json": {"schema": ref("Thing")},
                "text/event-stream": {"schema": STRING},
            },
        }
    }
    assert changes(spec(responses=both), spec(responses={"200": ok})) == [
        ("response.status.removed", "response 404", True)
    ]
    assert changes(spec(responses={"200": ok}), spec(responses=both)) == [
        ("response.status.added", "response 404", False)
    ]
    assert changes(spec(responses=stream), spec(responses={"200": ok})) == [
        ("response.media.removed", "response 200 text/event-stream", True)
    ]


def test_it_flags_removed_response_headers():
    with_header = {
        "200": {"description": "OK", "headers": {"X-RateLimit-Limit-Requests": {"schema": STRING}}}
    }
    without = {"200": {"description": "OK"}}
    assert changes(spec(responses=with_header), spec(responses=without)) == [
        ("response.header.removed", "response 200", True)
    ]


# --- requests ----------------------------------------------------------------


def test_it_flags_a_new_required_request_field_and_not_an_optional_one():
    base = spec(body=obj(("model",), model=STRING))
    cand = spec(body=obj(("model", "input"), model=STRING, input=STRING, user=STRING))
    assert changes(base, cand) == [
        ("request.property.added", "body: input", True),
        ("request.property.added", "body: user", False),
    ]


def test_it_flags_a_request_field_made_required():
    base = spec(body=obj(("model",), model=STRING, user=STRING))
    cand = spec(body=obj(("model", "user"), model=STRING, user=STRING))
    assert changes(base, cand) == [("request.property.required", "body: user", True)]
    assert changes(cand, base) == [("request.property.optional", "body: user", False)]


def test_it_flags_a_narrowed_request_type_but_not_a_widened_one():
    base = spec(body=obj((), temperature=NUMBER, n=INTEGER))
    cand = spec(body=obj((), temperature=INTEGER, n=NUMBER))
    assert changes(base, cand) == [
        ("request.type.narrowed", "body: temperature", True),
        ("request.type.widened", "body: n", False),
    ]


def test_it_flags_a_request_union_that_lost_an_alternative():
    base = spec(body=obj((), stop={"anyOf": [STRING, {"type": "array", "items": STRING}]}))
    cand = spec(body=obj((), stop=STRING))
    assert changes(base, cand) == [("request.type.narrowed", "body: stop", True)]


def test_it_tells_array_variants_apart_by_their_items():
    embedding_input = {
        "anyOf": [
            STRING,
            {"type": "array", "items": STRING},
            {"type": "array", "items": INTEGER},
            {"type": "array", "items": {"type": "array", "items": INTEGER}},
        ]
    }
    smaller = copy.deepcopy(embedding_input)
    del smaller["anyOf"][3]
    result = changes(spec(body=obj((), input=embedding_input)), spec(body=obj((), input=smaller)))
    assert result == [("request.type.narrowed", "body: input", True)]
    diff = diff_specs(spec(body=obj((), input=embedding_input)), spec(body=obj((), input=smaller)))
    assert "no longer array<array<integer>>" in diff.changed[0].changes[0].message


def test_it_flags_a_removed_request_field_only_when_unknown_fields_are_refused():
    base = spec(body={**obj((), model=STRING, seed=INTEGER), "additionalProperties": False})
    closed = spec(body={**obj((), model=STRING), "additionalProperties": False})
    opened = spec(body=obj((), model=STRING))
    assert changes(base, closed) == [("request.property.removed", "body: seed", True)]
    assert ("request.property.removed", "body: seed", False) in changes(base, opened)
    assert ("request.properties.opened", "body: (object)", False) in changes(base, opened)
    assert changes(opened, closed) == [("request.properties.closed", "body: (object)", True)]


def test_it_flags_removed_request_enum_values_and_not_added_ones():
    base = spec(body=obj((), truncation={"enum": ["auto", "disabled"], "type": "string"}))
    cand = spec(body=obj((), truncation={"enum": ["auto"], "type": "string"}))
    assert changes(base, cand) == [("request.enum.narrowed", "body: truncation", True)]
    assert changes(cand, base) == [("request.enum.widened", "body: truncation", False)]
    free = spec(body=obj((), truncation=STRING))
    assert changes(free, cand) == [("request.enum.introduced", "body: truncation", True)]


def test_it_flags_tightened_request_bounds():
    base = spec(
        body=obj((), user={"type": "string", "maxLength": 256}, n={**INTEGER, "minimum": 1})
    )
    cand = spec(body=obj((), user={"type": "string", "maxLength": 64}, n={**INTEGER, "minimum": 0}))
    assert changes(base, cand) == [
        ("request.bound.tightened", "body: user", True),
        ("request.bound.relaxed", "body: n", False),
    ]


def test_it_flags_a_request_body_that_became_required():
    base = spec(body=obj((), model=STRING))
    base["paths"]["/v1/things"]["post"]["requestBody"]["required"] = False
    assert changes(base, spec(body=obj((), model=STRING))) == [
        ("request.body.required", "body", True)
    ]
    no_body = spec()
    assert changes(no_body, spec(body=obj((), model=STRING))) == [
        ("request.body.added", "body", True)
    ]


def test_it_checks_query_and_path_parameters():
    limit = {"in": "query", "name": "limit", "required": False, "schema": INTEGER}
    after = {"in": "query", "name": "after", "required": False, "schema": STRING}
    order = {"in": "query", "name": "order", "required": True, "schema": STRING}
    pk = {"in": "path", "name": "id", "required": True, "schema": {"type": ["string", "integer"]}}
    base = spec(path="/v1/things/{id}", method="get", parameters=[pk, limit, after])
    cand = spec(
        path="/v1/things/{id}",
        method="get",
        parameters=[{**pk, "schema": INTEGER}, {**limit, "required": True}, order],
    )
    assert changes(base, cand) == [
        ("request.type.narrowed", "path parameter id", True),
        ("request.parameter.required", "query parameter limit", True),
        ("request.parameter.removed", "query parameter after", False),
        ("request.parameter.added", "query parameter order", True),
    ]


def test_it_reads_parameters_declared_on_the_path_item():
    limit = {"in": "query", "name": "limit", "required": False, "schema": INTEGER}
    base = spec(method="get")
    base["paths"]["/v1/things"]["parameters"] = [limit]
    cand = copy.deepcopy(base)
    cand["paths"]["/v1/things"]["parameters"] = [{**limit, "schema": {"type": "boolean"}}]
    assert changes(base, cand) == [("request.type.changed", "query parameter limit", True)]


# --- $ref cycles and allOf ---------------------------------------------------


def _tree(leaf: dict) -> dict[str, Any]:
    return {
        "Node": obj(
            ("name", "children"),
            name=leaf,
            children={"type": "array", "items": ref("Node")},
            parent={"anyOf": [ref("Node"), NULL]},
        )
    }


def test_it_walks_a_recursive_schema_once():
    base = spec(response=ref("Node"), schemas=_tree(STRING))
    assert diff_specs(base, copy.deepcopy(base)).is_empty
    cand = spec(response=ref("Node"), schemas=_tree(INTEGER))
    assert changes(base, cand) == [("response.type.changed", "response 200: name", True)]


def test_it_walks_mutually_recursive_schemas():
    def pair(leaf: dict) -> dict[str, Any]:
        return {
            "A": obj(("b", "x"), b=ref("B"), x=leaf),
            "B": obj(("a",), a={"anyOf": [ref("A"), NULL]}),
        }

    base = spec(response=ref("A"), schemas=pair(STRING))
    assert diff_specs(base, copy.deepcopy(base)).is_empty
    cand = spec(response=ref("A"), schemas=pair(INTEGER))
    assert changes(base, cand) == [("response.type.changed", "response 200: x", True)]


def test_it_survives_self_referencing_unions_and_allofs():
    schemas = {
        "Loop": {"anyOf": [ref("Loop"), STRING]},
        "Merge": {"allOf": [ref("Merge"), obj(("id",), id=STRING)]},
        "Thing": obj(("loop", "merge"), loop=ref("Loop"), merge=ref("Merge")),
    }
    base = spec(schemas=schemas)
    assert diff_specs(base, copy.deepcopy(base)).is_empty


def test_it_merges_allof_before_comparing():
    schemas = {
        "Base": obj(("id",), id=STRING),
        "Thing": {"allOf": [ref("Base"), obj(("created",), created=INTEGER)]},
    }
    inlined = {"Thing": obj(("id", "created"), id=STRING, created=INTEGER)}
    assert diff_specs(spec(schemas=schemas), spec(schemas=inlined)).is_empty
    dropped = {"Thing": obj(("created",), created=INTEGER)}
    assert changes(spec(schemas=schemas), spec(schemas=dropped)) == [
        ("response.property.removed", "response 200: id", True)
    ]


def test_it_merges_a_property_declared_in_two_allof_parts():
    schemas = {
        "Thing": {
            "allOf": [
                obj(("id",), id={"type": ["string", "integer"]}),
                obj((), id=STRING),
            ]
        }
    }
    inlined = {"Thing": obj(("id",), id=STRING)}
    assert diff_specs(spec(schemas=schemas), spec(schemas=inlined)).is_empty


def test_it_sees_a_renamed_schema_as_the_same_field():
    base = spec(response=ref("Thing"), schemas={"Thing": obj(("id",), id=STRING)})
    cand = spec(response=ref("Widget"), schemas={"Widget": obj(("id",), id=STRING)})
    assert diff_specs(base, cand).is_empty


def test_it_refuses_a_dangling_ref():
    base = spec()
    cand = spec(response=ref("Missing"))
    with pytest.raises(SpecError, match="Missing"):
        diff_specs(base, cand)


# --- output and files ----------------------------------------------------------


def test_it_reports_as_json_and_text():
    base = spec(schemas={"Thing": obj(("id", "name"), id=STRING, name=STRING)})
    cand = spec(
        schemas={"Thing": obj(("id",), id=STRING)},
        extra_paths={"/v1/more": {"get": {"operationId": "more"}}},
    )
    result = diff_specs(base, cand)
    report = json.loads(json.dumps(result.to_dict()))
    assert report["breaking"] is True
    assert report["summary"] == {"added": 1, "removed": 0, "changed": 1, "breaking_changes": 1}
    assert report["changed"][0]["changes"] == [
        {
            "kind": "response.property.removed",
            "where": "response 200: name",
            "message": "field removed",
            "breaking": True,
        }
    ]
    text = result.to_text()
    assert "~ POST /v1/things (things_create)" in text
    assert "BREAKING      response 200: name: field removed" in text
    assert "+ GET /v1/more (more)" in text


def test_it_renders_a_spec_stably(tmp_path):
    rendered = render_spec({"b": 1, "a": {"é": [2, 1]}})
    assert rendered == '{\n  "a": {\n    "é": [\n      2,\n      1\n    ]\n  },\n  "b": 1\n}\n'
    path = tmp_path / "spec.json"
    path.write_text(render_spec(spec()), encoding="utf-8")
    assert load_spec(path) == spec()


def test_it_loads_yaml_and_says_what_is_wrong_with_a_file(tmp_path):
    (tmp_path / "spec.yaml").write_text("openapi: 3.1.0\npaths: {}\n")
    assert load_spec(tmp_path / "spec.yaml") == {"openapi": "3.1.0", "paths": {}}
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(SpecError, match="not valid"):
        load_spec(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(SpecError, match="not an OpenAPI document"):
        load_spec(tmp_path / "list.json")
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "missing.json")


def test_it_imports_nothing_from_django():
    import ast

    from tests.services import REPO

    modules = sorted((REPO / "lukhas_site" / "openapi_diff").glob("*.py"))
    assert modules
    for module in modules:
        tree = ast.parse(module.read_text())
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        django = {name for name in imported if name and name.split(".")[0] in {"django", "ninja"}}
        assert not django, module.name

"""The committed OpenAPI documents and the commands that write and compare them."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Literal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from ninja import NinjaAPI, Schema

from lukhas_site.management.commands.openapi_spec import default_path, rendered_spec
from lukhas_site.openapi_diff import diff_specs, load_spec, render_spec
from tests.services import REPO

SPEC = REPO / "docs/openapi/lukhas-openai.json"
BASELINE = REPO / "docs/openapi/lukhas-openai.baseline.json"


def test_it_keeps_the_committed_v1_spec_in_step_with_the_code():
    assert default_path("v1") == SPEC
    current = rendered_spec("v1")
    committed = SPEC.read_text(encoding="utf-8") if SPEC.exists() else ""
    if committed != current:
        drift = diff_specs(json.loads(committed or '{"paths": {}}'), json.loads(current))
        pytest.fail(
            f"{SPEC.relative_to(REPO)} is out of date with the /v1 code: run `make openapi-spec` "
            f"and commit the result.\n{drift.to_text()}",
            pytrace=False,
        )


def test_it_has_no_breaking_change_against_the_committed_baseline():
    result = diff_specs(load_spec(BASELINE), json.loads(rendered_spec("v1")))
    if result.is_breaking:
        pytest.fail(
            f"the /v1 API breaks clients of {BASELINE.relative_to(REPO)}:\n{result.to_text()}\n"
            "If that is intended, say so in the release notes and run `make openapi-baseline`.",
            pytrace=False,
        )


# --- openapi_spec ------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_writes_a_stable_spec_file(tmp_path):
    target = tmp_path / "nested" / "v1.json"
    assert "Wrote" in run("openapi_spec", "--out", str(target))
    text = target.read_text(encoding="utf-8")
    assert text == rendered_spec("v1")
    assert text.endswith("}\n")
    assert text == render_spec(json.loads(text))  # sorted keys, 2-space indent
    assert json.loads(text)["info"]["title"] == "LUKHAS OpenAI-compatible API"
    assert "is up to date" in run("openapi_spec", "--out", str(target), "--check")


def test_it_says_when_a_spec_file_is_out_of_date(tmp_path):
    stale = tmp_path / "stale.json"
    stale.write_text("{}\n")
    with pytest.raises(CommandError, match="make openapi-spec") as caught:
        run("openapi_spec", "--out", str(stale), "--check")
    assert caught.value.returncode == 1
    assert stale.read_text() == "{}\n"  # --check writes nothing


def test_it_prints_either_root_to_stdout():
    v1 = json.loads(run("openapi_spec", "--out", "-"))
    ops = json.loads(run("openapi_spec", "--api", "api", "--out", "-"))
    assert all(path.startswith("/v1/") for path in v1["paths"])
    assert ops["paths"] and all(path.startswith("/api/") for path in ops["paths"])


# --- openapi_diff ------------------------------------------------------------


def _write(tmp_path: Path, name: str, spec: dict) -> str:
    path = tmp_path / name
    path.write_text(render_spec(spec), encoding="utf-8")
    return str(path)


def _spec(*paths: str) -> dict:
    return {
        "openapi": "3.1.0",
        "paths": {p: {"get": {"operationId": p.strip("/"), "responses": {}}} for p in paths},
    }


def test_it_exits_zero_on_non_breaking_changes_and_lists_them(tmp_path):
    base = _write(tmp_path, "base.json", _spec("/v1/models"))
    cand = _write(tmp_path, "cand.json", _spec("/v1/models", "/v1/dreams"))
    out = run("openapi_diff", base, cand)
    assert "+ GET /v1/dreams (v1/dreams)" in out
    assert "0 breaking changes" in out


def test_it_exits_one_on_breaking_changes(tmp_path):
    base = _write(tmp_path, "base.json", _spec("/v1/models", "/v1/dreams"))
    cand = _write(tmp_path, "cand.json", _spec("/v1/models"))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 breaking change") as caught:
        call_command("openapi_diff", base, cand, "--format", "json", stdout=out)
    assert caught.value.returncode == 1
    report = json.loads(out.getvalue())
    assert report["breaking"] is True
    assert report["removed"] == [
        {"method": "GET", "path": "/v1/dreams", "operation_id": "v1/dreams", "breaking": True}
    ]


def test_it_exits_two_when_a_document_cannot_be_read(tmp_path):
    base = _write(tmp_path, "base.json", _spec("/v1/models"))
    with pytest.raises(CommandError, match="cannot read") as caught:
        run("openapi_diff", base, str(tmp_path / "missing.json"))
    assert caught.value.returncode == 2


# --- on what django-ninja really generates -----------------------------------


class Usage(Schema):
    input_tokens: int
    output_tokens: int


class Content(Schema):
    type: Literal["output_text"]
    text: str


class Reply(Schema):
    id: str
    status: Literal["completed", "failed"]
    content: list[Content]
    usage: Usage | None = None


class ReplyV2(Schema):
    id: str
    status: Literal["completed", "failed", "incomplete"]
    content: list[Content]
    usage: Usage | None = None
    model: str = "m"


class AskIn(Schema):
    model: str
    temperature: float | None = None


class AskInV2(Schema):
    model: str
    temperature: int | None = None
    reasoning: str


def _ninja_spec(reply: type[Schema], ask: type[Schema], namespace: str) -> dict:
    api = NinjaAPI(urls_namespace=namespace)

    def create(request, payload):
        return {}

    # Set by hand: under `from __future__ import annotations` ninja could not
    # resolve a local name.
    create.__annotations__ = {"payload": ask}
    api.post("/replies", response=reply, operation_id="replies_create")(create)

    @api.get("/replies/{reply_id}", response=reply, operation_id="replies_get")
    def get(request, reply_id: str, verbose: bool = False):
        return {}

    return json.loads(json.dumps(api.get_openapi_schema(path_prefix="/v1")))


def test_it_reads_what_ninja_generates():
    base = _ninja_spec(Reply, AskIn, "contract-base")
    assert diff_specs(base, _ninja_spec(Reply, AskIn, "contract-same")).is_empty
    result = diff_specs(base, _ninja_spec(ReplyV2, AskInV2, "contract-cand"))
    found = {
        (d.candidate.operation_id, c.kind, c.where, c.breaking)
        for d in result.changed
        for c in d.changes
    }
    assert found == {
        ("replies_create", "request.type.narrowed", "body: temperature", True),
        ("replies_create", "request.property.added", "body: reasoning", True),
        ("replies_create", "response.enum.widened", "response 200: status", True),
        ("replies_create", "response.property.added", "response 200: model", False),
        ("replies_get", "response.enum.widened", "response 200: status", True),
        ("replies_get", "response.property.added", "response 200: model", False),
    }

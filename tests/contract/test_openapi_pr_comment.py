"""The OpenAPI diff as a PR comment body: added, removed and breaking rows, the gh command
printed and never run."""

from __future__ import annotations

import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lukhas_site.openapi_diff import diff_specs
from lukhas_site.openapi_diff.comment import ADDED, BREAKING, MARKER, REMOVED, pr_comment
from tests.contract.test_openapi_diff import STRING, obj, spec


def documents():
    base = spec(
        body=obj(("name",), name=STRING),
        extra_paths={
            "/v1/old": {
                "get": {"operationId": "old_get", "responses": {"204": {"description": "gone"}}}
            }
        },
    )
    cand = spec(
        body=obj(("name", "kind"), name=STRING, kind=STRING),
        extra_paths={
            "/v1/new": {
                "get": {"operationId": "new_get", "responses": {"204": {"description": "new"}}}
            }
        },
    )
    return base, cand


def test_it_renders_added_removed_and_breaking_rows():
    base, cand = documents()
    body = pr_comment(diff_specs(base, cand), base="base.json", candidate="cand.json")
    lines = body.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "### OpenAPI diff: ⚠️ **2 breaking change(s)**"
    rows = lines[lines.index("| | operation | change |") + 2 :]
    assert rows == [
        f"| {ADDED} | `GET /v1/new` (new_get) | new operation |",
        f"| {REMOVED} | `GET /v1/old` (old_get) | clients calling it break |",
        f"| {BREAKING} | `POST /v1/things` (things_create) | body: kind: new required field |",
    ]
    assert (ADDED, REMOVED, BREAKING) == ("\u2795 added", "\u2796 removed", "\u26a0\ufe0f breaking")


def test_it_says_when_nothing_breaks():
    base = spec()
    body = pr_comment(diff_specs(base, base), base="a", candidate="b")
    assert "### OpenAPI diff: ✅ no breaking change" in body
    assert "No operation changed." in body


def test_it_writes_the_body_and_prints_the_command_without_running_gh(
    tmp_path, capsys, monkeypatch
):
    base, cand = documents()
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "cand.json").write_text(json.dumps(cand))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no gh to run, had we tried
    assert shutil.which("gh") is None
    out = tmp_path / "comment.md"
    with pytest.raises(CommandError):  # breaking: exit 1, after writing the body
        call_command(
            "openapi_diff",
            str(tmp_path / "base.json"),
            str(tmp_path / "cand.json"),
            "--pr-comment",
            str(out),
            "--pr",
            "42",
        )
    assert out.read_text().startswith(MARKER)
    assert f"post it with: gh pr comment 42 --body-file {out}" in capsys.readouterr().out

"""shadow_diff against two real HTTP servers that answer alike except where told."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lukhas_site.management.commands.shadow_diff import (
    CaseFileError,
    diff_shapes,
    load_cases,
    merge_shapes,
    shape_of,
    stream_shape,
)

Answer = tuple[int, dict[str, str], Any]  # status, headers, JSON body or list of SSE lines


class Deployment:
    """One canned deployment: ``answers(method, path, body) -> Answer``; records what it got."""

    def __init__(self, answers: Callable[[str, str, Any], Answer]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str, Any, str | None]] = []
        deployment = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                deployment.seen.append(
                    (self.command, self.path, body, self.headers.get("Authorization"))
                )
                status, headers, payload = deployment.answers(self.command, self.path, body)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if isinstance(payload, list):  # server-sent events
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for line in payload:
                        self.wfile.write(f"{line}\n".encode())
                    return
                raw = json.dumps(payload).encode()
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def canned(side: str, *, content_type: str = "output_text") -> Callable[[str, str, Any], Answer]:
    """What both deployments answer; ids, times and chunking differ by side, as in life."""
    limits = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": str(len(side))}
    index_id = f"idx_{side}"

    def answers(method: str, path: str, body: Any) -> Answer:
        if path == "/v1/models":
            data = [{"id": m, "object": "model", "created": hash(side) % 1000} for m in ("a", "b")]
            return 200, limits, {"object": "list", "data": data}
        if path == "/v1/responses" and not (body or {}).get("stream"):
            output = [{"type": "message", "content": [{"type": content_type, "text": side}]}]
            return 200, limits, {"id": f"resp_{side}", "object": "response", "output": output}
        if path == "/v1/responses":
            deltas = ["hel", "lo"] if side == "base" else ["h", "e", "llo"]
            lines = [": keep-alive", ""]
            lines += ["event: response.created", 'data: {"type": "response.created"}', ""]
            for delta in deltas:
                payload = json.dumps({"type": "response.output_text.delta", "delta": delta})
                lines += ["event: response.output_text.delta", f"data: {payload}", ""]
            lines += ["event: response.completed", 'data: {"type": "response.completed"}', ""]
            return 200, {}, lines
        if path == "/v1/indexes" and method == "POST":
            return 200, {}, {"id": index_id, "object": "index", "name": body["name"]}
        if path == f"/v1/indexes/{index_id}":
            return 200, {}, {"id": index_id, "object": "index", "item_count": 0}
        if path.startswith("/v1/indexes/"):
            return 404, {}, {"error": {"message": f"no {path}", "type": "x", "code": "not_found"}}
        return 404, {}, {"error": {"message": "unknown", "type": "x", "code": "unknown_route"}}

    return answers


CASES = [
    {"name": "models", "method": "GET", "path": "/models"},
    {
        "name": "answer",
        "method": "POST",
        "path": "/responses",
        "body": {"model": "m", "input": "x"},
    },
    {
        "name": "stream",
        "method": "POST",
        "path": "/responses",
        "stream": True,
        "body": {"model": "m", "input": "x", "stream": True},
    },
    {
        "name": "make-index",
        "method": "POST",
        "path": "/indexes",
        "body": {"name": "shadow"},
        "capture": {"index": "id"},
    },
    {"name": "read-index", "method": "GET", "path": "/indexes/{{index}}"},
]


def write_cases(tmp_path: Path, cases: list[Any] = CASES) -> str:
    path = tmp_path / "cases.jsonl"
    lines = ["# shadow cases", ""] + [c if isinstance(c, str) else json.dumps(c) for c in cases]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def deployments():
    opened: list[Deployment] = []

    def make(answers: Callable[[str, str, Any], Answer]) -> Deployment:
        deployment = Deployment(answers)
        opened.append(deployment)
        return deployment

    yield make
    for deployment in opened:
        deployment.close()


def shadow(*args: str) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("shadow_diff", *args, "--no-progress", stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def test_it_finds_the_one_case_whose_shape_differs(deployments, tmp_path):
    base = deployments(canned("base"))
    cand = deployments(canned("candidate", content_type="text"))
    out, error = shadow(
        "--base", base.url, "--cand", cand.url, "--format", "json", write_cases(tmp_path)
    )
    assert error is not None and error.returncode == 1
    assert str(error) == "1 of 5 cases differ"
    report = json.loads(out)
    by_name = {case["name"]: case for case in report["cases"]}
    assert [name for name, case in by_name.items() if case["differs"]] == ["answer"]
    assert by_name["answer"]["differences"] == [
        'shape $.output[].content[].type: string="output_text" in base, string="text" in cand'
    ]
    # Ids, timestamps, rate-limit values and stream chunking are not differences.
    assert by_name["models"]["base"]["headers"]["x-ratelimit-*"] == (
        "x-ratelimit-limit-requests, x-ratelimit-remaining-requests"
    )
    # Each side got the index id it made.
    assert ("GET", "/v1/indexes/idx_base", None, None) in base.seen
    assert ("GET", "/v1/indexes/idx_candidate", None, None) in cand.seen


def test_it_reports_as_text_and_exits_zero_when_all_agree(deployments, tmp_path):
    base, cand = deployments(canned("base")), deployments(canned("candidate"))
    out, error = shadow("--base", base.url, "--cand", cand.url, write_cases(tmp_path))
    assert error is None
    assert out.splitlines()[0] == f"shadow diff: base {base.url}  cand {cand.url}  (5 cases)"
    assert "  same    models" in out
    assert out.rstrip().endswith("5 same, 0 differ")


def test_it_only_reports_with_no_fail_on_diff(deployments, tmp_path):
    base = deployments(canned("base"))
    cand = deployments(canned("candidate", content_type="text"))
    out, error = shadow(
        "--base", base.url, "--cand", cand.url, "--no-fail-on-diff", write_cases(tmp_path)
    )
    assert error is None
    assert "  DIFFERS answer" in out
    assert 'shape $.output[].content[].type: string="output_text" in base' in out


def test_it_compares_status_and_the_headers_clients_read(deployments, tmp_path):
    def replaying(method: str, path: str, body: Any) -> Answer:
        return 201, {"Idempotent-Replayed": "true"}, {"id": "x", "object": "thing"}

    def fresh(method: str, path: str, body: Any) -> Answer:
        headers = {"x-ratelimit-limit-tokens": "9"}
        return 200, headers, {"id": "y", "object": "thing", "extra": [1]}

    base, cand = deployments(replaying), deployments(fresh)
    cases = [{"name": "create", "method": "POST", "path": "/things", "body": {}}]
    out, error = shadow("--base", base.url, "--cand", cand.url, write_cases(tmp_path, cases))
    assert error is not None
    assert "status: 201 in base, 200 in cand" in out
    assert "header idempotent-replayed: true in base, (absent) in cand" in out
    assert "header x-ratelimit-*: (absent) in base, x-ratelimit-limit-tokens in cand" in out
    assert "shape $.extra: only in cand (array)" in out


def test_it_sends_each_side_its_key_from_the_environment(deployments, tmp_path, monkeypatch):
    base, cand = deployments(canned("base")), deployments(canned("base"))
    monkeypatch.setenv("BASE_KEY", "lk-base")
    monkeypatch.setenv("CAND_KEY", "lk-cand")
    cases = write_cases(tmp_path, CASES[:1])
    args = ["--base", base.url, "--cand", cand.url, "--api-key-env", "BASE_KEY"]
    assert shadow(*args, "--cand-api-key-env", "CAND_KEY", cases)[1] is None
    assert base.seen[-1][3] == "Bearer lk-base"
    assert cand.seen[-1][3] == "Bearer lk-cand"
    _, error = shadow("--base", base.url, "--cand", cand.url, "--api-key-env", "NOPE", cases)
    assert error.returncode == 2 and "NOPE is not set" in str(error)


def test_it_reports_a_deployment_it_cannot_reach(deployments, tmp_path):
    base = deployments(canned("base"))
    cases = write_cases(tmp_path, CASES[:1])
    out, error = shadow("--base", base.url, "--cand", "http://127.0.0.1:9/v1", cases)
    assert error.returncode == 1
    assert "error: none in base, ConnectError" in out


def test_it_shows_progress_on_stderr(deployments, tmp_path, capsys):
    base, cand = deployments(canned("base")), deployments(canned("base"))
    call_command(
        "shadow_diff", "--base", base.url, "--cand", cand.url, write_cases(tmp_path, CASES[:2])
    )
    assert "shadow diff: 100%" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{nope", "not JSON"),
        ({"method": "GET", "path": "/x"}, "'name' is required"),
        ({"name": "a", "method": "FETCH", "path": "/x"}, "'method' must be one of"),
        ({"name": "a", "path": "x"}, "'path' must start with '/'"),
        ({"name": "a", "path": "/x", "headers": []}, "'headers' must be an object"),
        ({"name": "a", "path": "/x", "colour": 1}, "unknown keys ['colour']"),
    ],
)
def test_it_says_where_a_case_file_is_wrong(tmp_path, line, problem):
    path = write_cases(tmp_path, [line])
    with pytest.raises(CaseFileError, match=r"cases\.jsonl:3") as caught:
        load_cases(Path(path))
    assert problem in str(caught.value)
    _, error = shadow("--base", "http://x", "--cand", "http://y", path)
    assert error.returncode == 2


def test_it_ships_a_readable_case_file_for_the_facade():
    from tests.services import REPO

    cases = load_cases(REPO / "docs/openapi/shadow-cases.jsonl")
    assert {"models.list", "responses.stream", "indexes.create"} <= {c.name for c in cases}
    assert next(c for c in cases if c.name == "indexes.create").capture == {"index": "id"}


def test_it_refuses_duplicate_names_and_empty_files(tmp_path):
    case = {"name": "a", "path": "/x"}
    with pytest.raises(CaseFileError, match="a case named 'a' comes earlier"):
        load_cases(Path(write_cases(tmp_path, [case, case])))
    with pytest.raises(CaseFileError, match="has no cases"):
        load_cases(Path(write_cases(tmp_path, [])))


# --- shapes --------------------------------------------------------------------------


def test_it_keeps_structure_and_discriminators_but_not_values():
    first = {"id": "resp_1", "object": "response", "created": 17, "score": 0.5, "ok": True}
    second = {"id": "resp_2", "object": "response", "created": 18.5, "score": 1, "ok": False}
    assert (
        shape_of(first)
        == shape_of(second)
        == {
            "id": "string",
            "object": 'string="response"',
            "created": "number",
            "score": "number",
            "ok": "boolean",
        }
    )
    assert shape_of([]) == []
    assert shape_of([{"a": 1}, {"b": None}]) == [{"a": "number", "b": "null"}]
    assert shape_of({"type": "x"}, value_keys=frozenset()) == {"type": "string"}


def test_it_merges_and_diffs_shapes():
    assert merge_shapes("string", "null") == "null|string"
    assert merge_shapes({"a": "string"}, {"b": ["number"]}) == {"a": "string", "b": ["number"]}
    assert diff_shapes({"a": "string", "b": []}, {"a": "number", "b": ["string"]}) == [
        "$.a: string in base, number in cand",
        "$.b: empty in base, items in cand",
    ]
    assert diff_shapes("(empty)", {"a": "string"}) == ["$: (empty) in base, object in cand"]


def test_it_reads_a_stream_as_events_and_payload_shapes():
    chat = [
        'data: {"object": "chat.completion.chunk", "choices": [{"delta": {"role": "assistant"}}]}',
        "",
        ": keep-alive",
        "",
        'data: {"object": "chat.completion.chunk", "choices": [{"delta": {"content": "hi"}}]}',
        "",
        "data: [DONE]",
        "",
    ]
    shape = stream_shape(chat)
    assert shape["events"] == ["chat.completion.chunk", "[DONE]"]
    assert shape["payloads"]["chat.completion.chunk"] == {
        "object": 'string="chat.completion.chunk"',
        "choices": [{"delta": {"role": 'string="assistant"', "content": "string"}}],
    }

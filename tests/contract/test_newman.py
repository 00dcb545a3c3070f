"""newman runs the committed Postman collection against the live site.

The spec carries no request examples, so the generated bodies and path
variables are openapi-to-postmanv2's ``"<string>"`` placeholders: most
requests are refusals. What is honest to assert, and asserted here from
newman's JSON report (not only newman's own pm.test results):

- every operation of the spec was sent exactly once and none answered 5xx;
- every status is one the spec declares for that operation;
- every refusal is an OpenAI envelope whose ``code`` docs/API_ERRORS.md lists;
- the operations that need no made-up input (lists without a path id) answer 200;
- with no key at all, every request answers 401 ``invalid_api_key``.

No placeholder body passes validation, so nothing is queued: the run needs
no Celery worker.

A second run gives every request of the committed collection a valid body
and real ids (``VALID_RUN``: an index, its items, a dream, a stored
response, a stored chat completion, each created before it is read and
deleted last, the ids handed on by Postman collection variables) and
asserts each answers the status its operation documents for it: 200, and
the documented 400 for cancelling a response that was answered at once.
The dream is only queued (no worker is needed to create and retrieve it).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.contract.postman import COLLECTION, SPEC, postman_tools  # noqa: F401
from tests.live import live_site  # noqa: F401
from tests.services import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ERRORS_DOC = REPO / "docs" / "API_ERRORS.md"


def _operations_by_item(collection: dict, spec: dict) -> dict[str, tuple[str, str, dict]]:
    """Collection item id -> (METHOD, path template, the spec's operation)."""
    found: dict[str, tuple[str, str, dict]] = {}

    def walk(node: dict) -> None:
        for item in node.get("item", []):
            if "item" in item:
                walk(item)
                continue
            method = item["request"]["method"]
            parts = item["request"]["url"]["path"]
            path = "/" + "/".join("{" + p[1:] + "}" if p.startswith(":") else p for p in parts)
            found[item["id"]] = (method, path, spec["paths"][path][method.lower()])

    walk(collection)
    return found


def _documented_codes() -> set[str]:
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", ERRORS_DOC.read_text(encoding="utf-8"), re.M))


def _run_newman(
    tools, base: str, api_key: str, report: Path, collection: Path = COLLECTION
) -> dict:
    done = subprocess.run(
        [
            str(tools.newman),
            *("run", str(collection)),
            *("--env-var", f"baseUrl={base}", "--env-var", f"apiKey={api_key}"),
            *("--reporters", "cli,json", "--reporter-json-export", str(report)),
            *("--timeout-request", "20000", "--color", "off", "--disable-unicode"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert report.exists(), done.stdout[-4000:] + done.stderr[-2000:]
    return {"report": json.loads(report.read_text()), "rc": done.returncode, "log": done.stdout}


def _body(execution: dict) -> dict:
    raw = bytes(execution["response"]["stream"]["data"]).decode("utf-8", errors="replace")
    return json.loads(raw)


def test_it_runs_the_collection_with_newman(live_site, mint_key, postman_tools, tmp_path):  # noqa: F811
    plaintext, _ = mint_key()
    site = live_site()
    collection = json.loads(COLLECTION.read_text(encoding="utf-8"))
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    operations = _operations_by_item(collection, spec)
    documented = _documented_codes()

    started = time.monotonic()
    keyed = _run_newman(postman_tools, site.base, plaintext, tmp_path / "newman.json")
    run = keyed["report"]["run"]
    seen: dict[str, int] = {}
    problems: list[str] = []
    for execution in run["executions"]:
        method, path, operation = operations[execution["item"]["id"]]
        status = execution["response"]["code"]
        seen[operation["operationId"]] = status
        where = f"{method} {path} -> {status}"
        if status >= 500:
            problems.append(f"{where}: a server error")
        if str(status) not in operation["responses"]:
            problems.append(
                f"{where}: not a status the spec declares ({sorted(operation['responses'])})"
            )
        if status >= 400:
            error = _body(execution).get("error") or {}
            if error.get("code") not in documented:
                problems.append(f"{where}: code {error.get('code')!r} is not in docs/API_ERRORS.md")
        elif "{" not in path and method == "GET" and status != 200:
            problems.append(f"{where}: a list with no made-up input should answer 200")
    assert not problems, "\n".join(problems) + "\n" + keyed["log"][-3000:]
    assert sorted(seen) == sorted(op["operationId"] for _, _, op in operations.values())
    assert run["stats"]["requests"] == {"total": len(operations), "pending": 0, "failed": 0}
    # newman's own checks (the collection's pm.test scripts) agree.
    assert run["stats"]["assertions"]["failed"] == 0, keyed["log"][-3000:]
    assert run["stats"]["assertions"]["total"] >= 2 * len(operations)
    assert keyed["rc"] == 0, keyed["log"][-3000:]
    lists = [op for op, status in seen.items() if status == 200]
    assert {"listModels", "listTools", "listIndexes", "listDreams"} <= set(lists), seen

    keyless = _run_newman(postman_tools, site.base, "", tmp_path / "newman-keyless.json")
    for execution in keyless["report"]["run"]["executions"]:
        method, path, _ = operations[execution["item"]["id"]]
        assert execution["response"]["code"] == 401, f"{method} {path} without a key"
        assert _body(execution)["error"]["code"] == "invalid_api_key"
    elapsed = time.monotonic() - started
    print(
        f"newman: {run['stats']['requests']['total']} requests, "
        f"{run['stats']['assertions']['total']} assertions, "
        f"{run['stats']['assertions']['failed']} failed; keyless "
        f"{keyless['report']['run']['stats']['requests']['total']} requests; {elapsed:.1f}s\n"
        + ", ".join(f"{op} {status}" for op, status in sorted(seen.items()))
    )


# A valid body and path ids for every operation, in an order where each object
# exists before it is read and goes last: (operationId, body, path variables,
# expected status, {variable: field of the answer} kept for later requests).
VALID_RUN = [
    ("listModels", None, {}, 200, {}),
    ("retrieveModel", None, {"model_id": "lukhas-matriz-1"}, 200, {}),
    ("listTools", None, {}, 200, {}),
    ("createEmbedding", {"model": "lukhas-embed-1", "input": "release gates"}, {}, 200, {}),
    ("createIndex", {"name": "postman-run"}, {}, 200, {"index_id": "id"}),
    ("retrieveIndex", None, {"index_id": "{{index_id}}"}, 200, {}),
    (
        "addIndexItems",
        {"items": [{"id": "gate-1", "text": "The PDP latency gate blocks the GA promotion."}]},
        {"index_id": "{{index_id}}"},
        200,
        {},
    ),
    ("listIndexItems", None, {"index_id": "{{index_id}}"}, 200, {}),
    ("queryIndex", {"query": "PDP latency", "top_k": 1}, {"index_id": "{{index_id}}"}, 200, {}),
    ("listIndexes", None, {}, 200, {}),
    ("createDream", {"index": "postman-run", "seed": "PDP latency"}, {}, 200, {"dream_id": "id"}),
    ("retrieveDream", None, {"dream_id": "{{dream_id}}"}, 200, {}),
    ("listDreams", None, {}, 200, {}),
    (
        "createResponse",
        {"model": "lukhas-matriz-1", "input": "What blocks the GA promotion?", "store": True},
        {},
        200,
        {"response_id": "id"},
    ),
    ("retrieveResponse", None, {"response_id": "{{response_id}}"}, 200, {}),
    ("listInputItems", None, {"response_id": "{{response_id}}"}, 200, {}),
    # Answered at once, not in the background: nothing to cancel (its documented 400).
    ("cancelResponse", None, {"response_id": "{{response_id}}"}, 400, {}),
    ("deleteResponse", None, {"response_id": "{{response_id}}"}, 200, {}),
    (
        "createChatCompletion",
        {"model": "matriz-echo", "messages": [{"role": "user", "content": "hello"}], "store": True},
        {},
        200,
        {"completion_id": "id"},
    ),
    ("listChatCompletions", None, {}, 200, {}),
    ("getChatCompletion", None, {"completion_id": "{{completion_id}}"}, 200, {}),
    ("getChatCompletionMessages", None, {"completion_id": "{{completion_id}}"}, 200, {}),
    (
        "updateChatCompletion",
        {"metadata": {"run": "postman"}},
        {"completion_id": "{{completion_id}}"},
        200,
        {},
    ),
    ("deleteChatCompletion", None, {"completion_id": "{{completion_id}}"}, 200, {}),
    ("deleteIndexItems", {"ids": ["gate-1"]}, {"index_id": "{{index_id}}"}, 200, {}),
    ("deleteIndex", None, {"index_id": "{{index_id}}"}, 200, {}),
]


def _with_valid_inputs(collection: dict, spec: dict) -> tuple[dict, dict[str, int]]:
    """The committed collection with VALID_RUN's bodies and ids filled in, in its order."""
    operations = _operations_by_item(collection, spec)
    by_operation = {}

    def walk(node: dict) -> None:
        for item in node.get("item", []):
            if "item" in item:
                walk(item)
            else:
                by_operation[operations[item["id"]][2]["operationId"]] = item

    walk(collection)
    items, expected = [], {}
    for operation_id, body, variables, status, keep in VALID_RUN:
        item = json.loads(json.dumps(by_operation[operation_id]))
        declared = operations[item["id"]][2]["responses"]
        assert str(status) in declared, f"{operation_id}: {status} is not declared ({declared})"
        if body is not None:
            item["request"]["body"]["raw"] = json.dumps(body)
        for variable in item["request"]["url"].get("variable", []):
            variable["value"] = variables[variable["key"]]
        item["event"].extend(
            {
                "listen": "test",
                "script": {
                    "type": "text/javascript",
                    "exec": [f'pm.collectionVariables.set("{name}", pm.response.json().{field});'],
                },
            }
            for name, field in keep.items()
        )
        items.append(item)
        expected[item["id"]] = status
    return {**collection, "item": items}, expected


def test_it_answers_the_documented_status_to_valid_requests(
    live_site,  # noqa: F811
    mint_key,
    postman_tools,  # noqa: F811
    tmp_path,
):
    plaintext, _ = mint_key()
    site = live_site()
    collection = json.loads(COLLECTION.read_text(encoding="utf-8"))
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    valid, expected = _with_valid_inputs(collection, spec)
    covered = {operation_id for operation_id, *_ in VALID_RUN}
    assert covered == {
        op["operationId"] for *_, op in _operations_by_item(collection, spec).values()
    }
    path = tmp_path / "valid.postman_collection.json"
    path.write_text(json.dumps(valid))

    done = _run_newman(postman_tools, site.base, plaintext, tmp_path / "newman-valid.json", path)
    run = done["report"]["run"]
    got = {e["item"]["name"]: e["response"]["code"] for e in run["executions"]}
    wrong = [
        f"{e['item']['name']}: {e['response']['code']} (expected {expected[e['item']['id']]}) "
        + bytes(e["response"]["stream"]["data"]).decode(errors="replace")[:300]
        for e in run["executions"]
        if e["response"]["code"] != expected[e["item"]["id"]]
    ]
    assert not wrong, "\n".join(wrong)
    assert len(got) == len(VALID_RUN)
    assert run["stats"]["assertions"]["failed"] == 0, done["log"][-3000:]
    print(
        f"newman (valid inputs): {run['stats']['requests']['total']} requests, "
        f"{run['stats']['assertions']['total']} assertions, "
        f"{run['stats']['assertions']['failed']} failed"
    )

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


def _run_newman(tools, base: str, api_key: str, report: Path) -> dict:
    done = subprocess.run(
        [
            str(tools.newman),
            *("run", str(COLLECTION)),
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

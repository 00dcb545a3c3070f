"""The committed Postman collection is what openapi-to-postmanv2 makes of the committed spec."""

from __future__ import annotations

import json
import subprocess

from tests.contract.postman import COLLECTION, SPEC, postman_tools  # noqa: F401
from tests.services import REPO


def _requests(node: dict) -> list[dict]:
    found = []
    for item in node.get("item", []):
        found.extend(_requests(item) if "item" in item else [item])
    return found


def test_it_keeps_the_committed_collection_in_step_with_the_spec(postman_tools, tmp_path):  # noqa: F811
    fresh = tmp_path / "collection.json"
    done = subprocess.run(
        [postman_tools.node, str(postman_tools.generate), str(SPEC), str(fresh)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    committed = COLLECTION.read_text(encoding="utf-8") if COLLECTION.exists() else ""
    assert fresh.read_text(encoding="utf-8") == committed, (
        f"{COLLECTION.relative_to(REPO)} is out of date with {SPEC.relative_to(REPO)}: "
        "run `make postman` and commit the collection"
    )


def test_it_has_one_request_per_operation_with_the_two_variables():
    collection = json.loads(COLLECTION.read_text(encoding="utf-8"))
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    operations = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    requests = {
        (
            entry["request"]["method"],
            "/"
            + "/".join(
                "{" + p[1:] + "}" if p.startswith(":") else p
                for p in entry["request"]["url"]["path"]
            ),
        )
        for entry in _requests(collection)
    }
    assert requests == operations
    assert {v["key"] for v in collection["variable"]} == {"baseUrl", "apiKey"}
    assert collection["auth"] == {
        "type": "bearer",
        "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}],
    }
    for entry in _requests(collection):
        assert entry["request"]["url"]["host"] == ["{{baseUrl}}"]
        assert "auth" not in entry["request"], entry["name"]  # inherits the collection's key

"""docs/architecture.md matches the code: the import graph and the three main request paths.

Each path is recorded around a real request through the test client (the
same middleware stack as the live site), after a warm-up request so one-time
work (policy load, key cache, runtime start) is not counted. With
``ARCHITECTURE_WRITE=1`` (``make architecture``) the recordings are written to
docs/architecture-paths.json instead of compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import Client

from coordination import services as coordination_services
from tests.architecture.tracer import ROOT, trace
from tests.coordination.conftest import grant

pytestmark = pytest.mark.django_db

PATHS_FILE = ROOT / "docs" / "architecture-paths.json"
WRITE = os.environ.get("ARCHITECTURE_WRITE") == "1"

SMALL_PLAN = """# Architecture probe plan

| # | Task | Owner | Estimate |
|---|---|---|---|
| P1 | Probe the import path | Codex | 1h |
| P2 | Probe it again | Jules | 2h |
"""


@pytest.fixture(autouse=True)
def _steady(settings):
    # A policy refresh falling due mid-recording would add modules at random.
    settings.GUARDIAN_POLICY_REFRESH_SECONDS = 3600


def _post(client: Client, headers: dict, path: str, body: dict) -> dict:
    response = client.post(
        path, data=json.dumps(body), content_type="application/json", headers=headers
    )
    assert response.status_code == 200, response.content
    return response.json()


def _chat(client: Client, headers: dict) -> None:
    """An answer from memory: the whole pipeline runs (not the echo model)."""
    _post(
        client,
        headers,
        "/v1/chat/completions",
        {
            "model": "lukhas-matriz-1",
            "messages": [{"role": "user", "content": "Why did the canary rollout stop?"}],
            "metadata": {"indexes": "architecture-notes"},
        },
    )


def _record_chat(api_key_headers) -> dict:
    client, headers = Client(), api_key_headers()
    index = _post(client, headers, "/v1/indexes", {"name": "architecture-notes"})
    _post(
        client,
        headers,
        f"/v1/indexes/{index['id']}/items",
        {"items": [{"text": "The canary rollout stopped because p95 latency doubled."}]},
    )
    _chat(client, headers)
    with trace() as path:
        _chat(client, headers)
    return path.as_json()


def _record_board_move(alice) -> dict:
    grant(alice, "view_task", "change_task")
    client = Client()
    client.force_login(alice)
    tasks = [
        coordination_services.task_create(by="system", key=f"M{i}", title=f"Move {i}")
        for i in range(2)
    ]

    def move(task) -> None:
        response = client.post(
            f"/coordination/tasks/{task.pk}/move",
            {"to": "in_progress"},
            headers={"X-Requested-With": "fetch"},
        )
        assert response.status_code == 200, response.content

    move(tasks[0])
    with trace() as path:
        move(tasks[1])
    return path.as_json()


def _record_plan_import(api_key_headers, tmp_path) -> dict:
    client, headers = Client(), api_key_headers(scopes=["ops:read", "ops:write"])

    def upload(name: str) -> None:
        plan = tmp_path / name
        plan.write_text(SMALL_PLAN.replace("Architecture probe plan", name))
        with plan.open("rb") as fh:
            response = client.post("/api/coordination/imports", {"file": fh}, headers=headers)
        assert response.status_code in (200, 201), response.content

    upload("warm-up.md")
    with trace() as path:
        upload("recorded.md")
    return path.as_json()


def test_it_records_the_three_main_paths(api_key_headers, alice, tmp_path):
    recorded = {
        "POST /v1/chat/completions (non-streaming)": _record_chat(api_key_headers),
        "board move (POST /coordination/tasks/<pk>/move)": _record_board_move(alice),
        "plan import (POST /api/coordination/imports)": _record_plan_import(
            api_key_headers, tmp_path
        ),
    }
    if WRITE:
        PATHS_FILE.write_text(json.dumps(recorded, indent=2) + "\n")
        return
    committed = json.loads(PATHS_FILE.read_text())
    assert committed == recorded, "request paths changed: run `make architecture` and commit"


def test_it_keeps_the_generated_sections_up_to_date():
    if WRITE:
        pytest.skip("make architecture rewrites the document after this run")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "architecture.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""The npm side of the Postman collection (tools/postman): node, npm ci, the two CLIs.

``postman_tools`` runs ``npm ci`` once per lock file (a stamp in node_modules
records the lock's hash), so a second run costs nothing. Without node or npm
the tests skip locally and fail under CI=true, like every real peer.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import REPO, unavailable

TOOLS = REPO / "tools" / "postman"
SPEC = REPO / "docs" / "openapi" / "lukhas-openai.json"
COLLECTION = REPO / "docs" / "postman" / "lukhas-openai.postman_collection.json"
STAMP = TOOLS / "node_modules" / ".lukhas-lock-sha256"


@dataclass(frozen=True)
class PostmanTools:
    node: str
    newman: Path
    generate: Path


def _ensure_installed() -> PostmanTools:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        unavailable(
            "node and npm are needed for the Postman collection (apt-get install nodejs npm)"
        )
    lock_hash = hashlib.sha256((TOOLS / "package-lock.json").read_bytes()).hexdigest()
    newman = TOOLS / "node_modules" / ".bin" / "newman"
    if not (newman.exists() and STAMP.exists() and STAMP.read_text() == lock_hash):
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
            cwd=TOOLS,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"npm ci in tools/postman failed:\n{done.stdout}{done.stderr}"
        STAMP.write_text(lock_hash)
    return PostmanTools(node=node, newman=newman, generate=TOOLS / "generate.mjs")


@pytest.fixture(scope="session")
def postman_tools() -> PostmanTools:
    return _ensure_installed()

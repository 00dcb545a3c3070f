"""The examples run, through the official SDK, against an OpenAI-shaped server.

``FakeOpenAI`` stands in for the façade here, so these tests prove the
examples' client side (SDK calls, the streaming helper, generic verbs for the
LUKHAS extensions, exit codes). The live run of every example, Python and
JS, is ``make -C examples test`` (tests/examples/test_examples.py);
``responses_with_tools`` is only there, as the fake knows no tools.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from types import ModuleType

import pytest

from tests.contract.fake_openai import API_KEY, FakeOpenAI
from tests.services import REPO

EXAMPLES = REPO / "examples" / "python"
NAMES = ["responses_minimal", "responses_streaming", "embeddings", "indexes_crud", "dreams_basic"]
LIVE_ONLY = ["responses_with_tools"]


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"lukhas_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake(monkeypatch):
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        monkeypatch.delenv("LUKHAS_API_KEY", raising=False)
        monkeypatch.delenv("LUKHAS_MODEL", raising=False)
        monkeypatch.delenv("LUKHAS_EMBEDDING_MODEL", raising=False)
        yield server


def test_it_ships_every_example_with_a_readme():
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(NAMES + LIVE_ONLY)
    readme = (REPO / "examples" / "README.md").read_text()
    assert all(f"{name}.py" in readme for name in NAMES + LIVE_ONLY)


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("responses_minimal", "status: completed"),
        ("responses_streaming", ": completed; 6 pieces, first after"),
        ("embeddings", "4 vectors of 8 dimensions"),
        ("indexes_crud", "A: The release train"),
        ("dreams_basic", "A canary dreamt of latency."),
    ],
)
def test_it_runs_each_example(fake, capsys, name, printed):
    assert load(name).main() == 0
    assert printed in capsys.readouterr().out
    assert not fake.indexes  # the examples that make an index delete it


def test_it_sends_what_each_example_says(fake):
    load("indexes_crud").main()
    calls = [(method, path.split("?")[0]) for method, path, _ in fake.requests]
    index_id = calls[1][1].split("/")[3]  # /v1/indexes/<id>/items
    assert calls == [
        ("POST", "/v1/indexes"),
        ("POST", f"/v1/indexes/{index_id}/items"),
        ("GET", f"/v1/indexes/{index_id}"),
        ("GET", "/v1/indexes"),
        ("POST", "/v1/responses"),
        ("DELETE", f"/v1/indexes/{index_id}"),
        ("GET", f"/v1/indexes/{index_id}"),  # gone: a 404 is what the example expects
    ]
    asked = fake.requests[4][2]
    assert asked["metadata"]["indexes"].startswith("example-")


def test_it_exits_two_without_a_key_and_one_on_a_refusal(fake, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY")
    for name in NAMES + LIVE_ONLY:
        assert load(name).main() == 2, name
    assert "Set OPENAI_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("LUKHAS_API_KEY", "lk-wrong")  # the older name still counts
    for name in NAMES + LIVE_ONLY:
        assert load(name).main() == 1, name
    assert "The API refused (AuthenticationError)" in capsys.readouterr().err


def test_it_exits_one_on_an_unknown_model_and_takes_the_embedding_model_it_is_given(
    fake, monkeypatch, capsys
):
    monkeypatch.setenv("LUKHAS_MODEL", "no-such-model")
    assert load("responses_minimal").main() == 1
    assert "The API refused (NotFoundError)" in capsys.readouterr().err
    monkeypatch.setenv("LUKHAS_EMBEDDING_MODEL", "matriz-echo")
    assert load("embeddings").main() == 0
    assert "model: matriz-echo" in capsys.readouterr().out


def test_it_runs_as_a_script(fake):
    env = {**os.environ, "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": API_KEY}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "responses_minimal.py"), "echo", "this"],
        env={**env, "LUKHAS_MODEL": "matriz-echo"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "\necho this\n" in done.stdout

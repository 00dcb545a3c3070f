"""Registry and entry-point discovery, against real distributions on sys.path.

Nothing is mocked: each test writes a ``*.dist-info`` folder with an
``entry_points.txt`` (and a plugin module) under tmp_path, puts tmp_path on
sys.path, and lets ``importlib.metadata`` find it like any installed package.
"""

from __future__ import annotations

import importlib.metadata
import logging
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from matriz.engine import registry as registry_module
from matriz.engine.memory import MemoryStore
from matriz.engine.nodes import MemoryRecallNode, ThoughtComposeNode
from matriz.engine.registry import (
    FactoryPath,
    PluginNotFoundError,
    PluginUnavailableError,
    Registry,
    instantiate,
)
from matriz.engine.stages import Stage

ROOT = Path(__file__).resolve().parents[3]
PLUGIN_MODULE = "lukhas_fake_plugins"

PLUGIN_SOURCE = """
class FactoryNode:
    stage = "thought"

    def __init__(self, depth):
        self.name = "factory"
        self.depth = depth

    @classmethod
    def from_config(cls, config):
        return cls(depth=config.get("depth", 1))


class CreateMonitor:
    @staticmethod
    def create():
        return {"monitor": "created"}


class CtorNode:
    stage = "action"

    def __init__(self, *, depth=2, name="ctor"):
        self.depth = depth
        self.name = name


class NeedsStore:
    stage = "memory"

    def __init__(self, store, *, index="default"):
        self.store = store


class RaisingCtor:
    def __init__(self):
        raise RuntimeError("no GPU here")


class RaisingFactory:
    @classmethod
    def from_config(cls, config):
        raise ValueError("bad config")


INSTANCE = {"adapter": "ready"}
"""

ENTRY_POINTS = """
[lukhas.cognitive_nodes]
factory = lukhas_fake_plugins:FactoryNode
ctor = lukhas_fake_plugins:CtorNode
needs_store = lukhas_fake_plugins:NeedsStore
raising = lukhas_fake_plugins:RaisingCtor
raising_factory = lukhas_fake_plugins:RaisingFactory
missing_module = lukhas_plugin_that_is_not_there:Thing
missing_attr = lukhas_fake_plugins:Nope

[lukhas.adapters]
inst = lukhas_fake_plugins:INSTANCE

[lukhas.monitoring]
create = lukhas_fake_plugins:CreateMonitor

[lukhas.constellation_components]
star = lukhas_fake_plugins:CtorNode

[some.other.group]
ignored = lukhas_fake_plugins:CtorNode
"""


def install_distribution(
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
    name: str,
    entry_points: str,
    modules: dict[str, str] | None = None,
) -> None:
    """Make ``name`` an installed distribution, as pip would leave it, under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    dist_info = root / f"{name.replace('-', '_')}-0.0.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")
    for module, source in (modules or {}).items():
        (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.syspath_prepend(str(root))


def from_distribution(records, name: str):
    return {r.name: r for r in records if r.distribution == name}


@pytest.fixture
def fake_plugins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    install_distribution(
        monkeypatch, tmp_path, "lukhas-fake-plugins", ENTRY_POINTS, {PLUGIN_MODULE: PLUGIN_SOURCE}
    )
    yield "lukhas-fake-plugins"
    sys.modules.pop(PLUGIN_MODULE, None)


def test_it_discovers_plugins_by_every_instantiation_path(fake_plugins, caplog) -> None:
    registry = Registry()
    with caplog.at_level(logging.INFO, logger="matriz.engine.registry"):
        records = from_distribution(
            registry.auto_discover(config={"node:factory": {"depth": 7}}), fake_plugins
        )

    paths = {name: (r.factory_path, r.error is None) for name, r in records.items()}
    assert paths["node:factory"] == (FactoryPath.FACTORY_METHOD, True)
    assert paths["node:ctor"] == (FactoryPath.CONSTRUCTOR, True)
    assert paths["node:needs_store"] == (FactoryPath.CLASS_AS_FACTORY, True)
    assert paths["adapter:inst"] == (FactoryPath.INSTANCE, True)
    assert paths["monitor:create"] == (FactoryPath.FACTORY_METHOD, True)
    assert paths["constellation:star"] == (FactoryPath.CONSTRUCTOR, True)
    assert "node:ignored" not in records  # not one of our groups

    assert registry.resolve("node:factory").depth == 7  # config reached the factory
    assert registry.resolve("node:ctor").depth == 2
    needs_store = registry.resolve("node:needs_store")
    assert isinstance(needs_store, type)  # the class, for the caller to build
    assert needs_store(store="s").store == "s"
    assert registry.resolve("adapter:inst") == {"adapter": "ready"}
    assert registry.resolve("monitor:create") == {"monitor": "created"}

    logged = caplog.text
    assert (
        "node:factory registered from lukhas_fake_plugins:FactoryNode via factory_method" in logged
    )
    assert "via constructor" in logged and "via class_as_factory" in logged
    assert "via instance" in logged


def test_it_reports_broken_plugins_and_carries_on(fake_plugins) -> None:
    registry = Registry()
    records = from_distribution(registry.auto_discover(), fake_plugins)

    broken = {name: r.error for name, r in records.items() if r.error}
    assert set(broken) == {
        "node:raising",
        "node:raising_factory",
        "node:missing_module",
        "node:missing_attr",
    }
    assert broken["node:raising"] == "RuntimeError: no GPU here"
    assert broken["node:raising_factory"] == "ValueError: bad config"
    assert broken["node:missing_module"].startswith("ModuleNotFoundError")
    assert broken["node:missing_attr"].startswith("AttributeError")
    assert records["node:raising"].factory_path is FactoryPath.CONSTRUCTOR
    assert records["node:raising_factory"].factory_path is FactoryPath.FACTORY_METHOD

    with pytest.raises(PluginUnavailableError, match="no GPU here"):
        registry.resolve("node:raising")
    assert "node:raising" not in registry and "node:raising" not in registry.names()
    assert "node:ctor" in registry  # the good ones still loaded

    listing = {row["name"]: row for row in registry.describe()}
    assert listing["node:raising"] == {
        "name": "node:raising",
        "kind": "node",
        "target": "lukhas_fake_plugins:RaisingCtor",
        "factory_path": "constructor",
        "error": "RuntimeError: no GPU here",
    }
    assert listing["node:ctor"]["error"] is None
    assert listing["adapter:inst"]["factory_path"] == "instance"


def test_it_keeps_the_first_plugin_when_two_claim_one_name(
    fake_plugins, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    install_distribution(
        monkeypatch,
        tmp_path / "other",
        "lukhas-rival-plugins",
        "[lukhas.cognitive_nodes]\nctor = lukhas_fake_plugins:FactoryNode\n",
    )
    registry = Registry()
    registry.auto_discover()
    registry.auto_discover()  # the conflict is reported once, not once per pass
    assert registry.record("node:ctor").target in {
        "lukhas_fake_plugins:CtorNode",
        "lukhas_fake_plugins:FactoryNode",
    }
    duplicates = [row for row in registry.describe() if row["name"] == "node:ctor"]
    assert len(duplicates) == 2
    assert sum(row["error"] is not None for row in duplicates) == 1
    assert "duplicate name" in next(row["error"] for row in duplicates if row["error"])


def test_it_rediscovers_without_reloading(fake_plugins) -> None:
    registry = Registry()
    registry.auto_discover()
    first = registry.resolve("node:ctor")
    registry.auto_discover()
    assert registry.resolve("node:ctor") is first
    assert len([r for r in registry.describe() if r["name"] == "node:ctor"]) == 1


def pyproject_entry_points() -> str:
    tables = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines = []
    for group, entries in tables["project"]["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
    return "\n".join(lines) + "\n"


def test_it_discovers_the_built_in_nodes_declared_in_pyproject(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The project is not pip-installed yet: mirror its declared entry points into a
    # dist-info so importlib.metadata reads them exactly as it will once installed.
    install_distribution(monkeypatch, tmp_path, "lukhas-ops-mirror", pyproject_entry_points())
    registry = Registry()
    records = registry.auto_discover()
    assert all(r.ok for r in records), [r.to_dict() for r in records if not r.ok]
    nodes = [registry.resolve(name) for name in registry.names("node:")]
    built = [n if not isinstance(n, type) else n(MemoryStore()) for n in nodes]
    assert {Stage(n.stage) for n in built} == set(Stage)  # at least one node per stage
    assert {f"node:{n.name}" for n in built} == set(registry.names("node:"))
    assert registry.record("node:memory.recall").factory_path is FactoryPath.CLASS_AS_FACTORY
    assert registry.record("node:thought.compose").factory_path is FactoryPath.FACTORY_METHOD
    assert registry.record("node:attention.rank").factory_path is FactoryPath.CONSTRUCTOR
    assert "monitor:prometheus" in registry


def test_it_discovers_the_installed_project_entry_points() -> None:
    try:
        importlib.metadata.distribution("lukhas-ops")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("lukhas-ops is not installed (pip install -e .): no real entry points yet")
    registry = Registry()
    records = [r for r in registry.auto_discover() if r.distribution == "lukhas-ops"]
    assert records, (
        "lukhas-ops is installed but its metadata declares no lukhas.* entry points: "
        "the install predates the [project.entry-points] tables, re-run `pip install -e .`"
    )
    assert all(r.ok for r in records), [r.to_dict() for r in records if not r.ok]
    stages = set()
    for name in registry.names("node:"):
        node = registry.resolve(name)
        if isinstance(node, type):
            node = node(MemoryStore())
        stages.add(Stage(node.stage))
    assert stages == set(Stage)


def test_it_gives_the_store_to_a_node_through_config() -> None:
    store = MemoryStore()
    node, path = instantiate(MemoryRecallNode, {"store": store, "top_k": 3})
    assert path is FactoryPath.CONSTRUCTOR and node.store is store and node.top_k == 3
    node, path = instantiate(ThoughtComposeNode, {"max_points": 2, "unrelated": 1})
    assert path is FactoryPath.FACTORY_METHOD and node.max_points == 2


def test_it_ignores_config_keys_a_constructor_does_not_take(caplog) -> None:
    class Plain:
        def __init__(self, a: int = 1) -> None:
            self.a = a

    with caplog.at_level(logging.WARNING, logger="matriz.engine.registry"):
        obj, path = instantiate(Plain, {"a": 5, "b": 6})
    assert (path, obj.a) == (FactoryPath.CONSTRUCTOR, 5)
    assert "['b'] not accepted" in caplog.text


def test_it_registers_and_resolves_by_hand() -> None:
    registry = Registry()
    registry.register("adapter:echo", print)
    registry.register("node:cls", Registry)
    assert registry.resolve("adapter:echo") is print
    assert registry.record("node:cls").factory_path is FactoryPath.CLASS_AS_FACTORY
    with pytest.raises(ValueError, match="already registered"):
        registry.register("adapter:echo", len)
    registry.register("adapter:echo", len, replace=True)
    assert registry.resolve("adapter:echo") is len
    with pytest.raises(PluginNotFoundError, match="did you mean adapter:echo"):
        registry.resolve("adapter:ech0")
    assert registry.get("nothing", "default") == "default"
    registry.unregister("adapter:echo")
    assert "adapter:echo" not in registry and len(registry) == 1


def test_it_registers_from_a_target_string() -> None:
    registry = Registry()
    record = registry.register_target("node:thought", "matriz.engine.nodes:ThoughtComposeNode")
    assert record.ok and record.factory_path is FactoryPath.FACTORY_METHOD
    assert isinstance(registry.resolve("node:thought"), ThoughtComposeNode)
    broken = registry.register_target("node:none", "matriz.engine.nodes:Missing")
    assert broken.error and broken.error.startswith("AttributeError")


def test_it_offers_a_module_level_default_registry() -> None:
    registry_module.register("adapter:test-only", 42)
    try:
        assert registry_module.resolve("adapter:test-only") == 42
        assert any(row["name"] == "adapter:test-only" for row in registry_module.describe())
    finally:
        registry_module.default_registry.unregister("adapter:test-only")

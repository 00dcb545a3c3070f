"""The matriz readiness check: required stages need a node; broken plugins are reported."""

from __future__ import annotations

import pytest

from matriz.engine import Registry
from matriz.runtime import discover_plugins, reset_runtime

pytestmark = pytest.mark.django_db


def _matriz_check(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, next(c for c in response.json()["checks"] if c["name"] == "matriz")


def test_it_is_ready_when_every_required_stage_has_a_node(client):
    _, check = _matriz_check(client)
    assert check["ok"] and check["required"]
    assert check["detail"] == "6 nodes over 6 stages (auto discovery)"


def test_it_is_not_ready_when_a_required_stage_has_no_node(client, settings):
    registry = Registry()
    registry.register_target("node:thought.compose", "matriz.engine.nodes:ThoughtComposeNode")
    registry.register_target("node:broken", "matriz.engine.nodes:NoSuchNode")
    reset_runtime(registry=registry)
    status, check = _matriz_check(client)
    assert status == 503
    assert not check["ok"]
    assert check["error"].startswith(
        "RuntimeError: no node serves required stage(s) memory, action"
    )
    assert "node:broken (AttributeError" in check["error"]


def test_it_reports_broken_plugins_without_failing_for_optional_stages(client, settings):
    settings.MATRIZ_REQUIRED_STAGES = ["memory"]
    registry = Registry()
    discover_plugins(registry)
    registry.unregister("node:action.local_answer")
    reset_runtime(registry=registry)
    status, check = _matriz_check(client)
    assert status in {200, 503}  # other checks (the scheduler) are not this test's business
    assert check["ok"]
    assert check["detail"].startswith("5 nodes over 6 stages")


def test_it_registers_the_built_ins_by_name_when_discovery_is_off(settings):
    settings.MATRIZ_PLUGIN_DISCOVERY = "off"
    registry = Registry()
    described = {p["name"]: p for p in discover_plugins(registry)}
    assert described["node:memory.recall"]["factory_path"] == "class_as_factory"
    assert described["node:thought.compose"]["factory_path"] == "factory_method"
    runtime = reset_runtime(registry=registry)
    assert runtime.missing_stages(["memory", "attention", "action"]) == []

"""The pipeline of a process, built from the plugin registry.

Every ``node:*`` plugin that is an instance joins the stage it declares; one
registered as a class (``class_as_factory``: its constructor wants something
discovery could not give) is built here when what it asks for is the
runtime's ``store``; anything else is kept as unbuilt with the reason, which
/system/plugins and /readyz report. Stage budgets, critical stages and
breakers come from settings.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from matriz.engine import (
    STAGE_ORDER,
    BreakerConfig,
    Orchestrator,
    Registry,
    Stage,
    StageSpec,
    default_registry,
)
from matriz.engine.registry import FactoryPath

log = logging.getLogger(__name__)

# The built-in nodes, registered by name when entry-point discovery is off.
BUILTIN_PLUGINS = {
    "node:memory.recall": "matriz.engine.nodes:MemoryRecallNode",
    "node:attention.rank": "matriz.engine.nodes:AttentionRankNode",
    "node:thought.compose": "matriz.engine.nodes:ThoughtComposeNode",
    "node:action.local_answer": "matriz.engine.nodes:LocalAnswerNode",
    "node:decision.confidence": "matriz.engine.nodes:ConfidenceDecisionNode",
    "node:awareness.self_check": "matriz.engine.nodes:SelfCheckNode",
    "monitor:prometheus": "matriz.engine.metrics:PrometheusRecorder",
}


def discover_plugins(registry: Registry | None = None) -> list[dict[str, Any]]:
    """Fill the registry as LUKHAS_PLUGIN_DISCOVERY says (MatrizConfig.ready); its describe()."""
    registry = registry if registry is not None else default_registry
    config = settings.MATRIZ_PLUGIN_CONFIG
    if settings.MATRIZ_PLUGIN_DISCOVERY == "auto":
        registry.auto_discover(config=config)
    else:
        for name, target in BUILTIN_PLUGINS.items():
            if name not in registry:
                registry.register_target(name, target, config=config.get(name))
    return registry.describe()


@dataclass(frozen=True, slots=True)
class NodeBuild:
    """How a node plugin became a node of the pipeline, or why it did not."""

    plugin: str
    node: str | None
    stage: str | None
    how: str
    error: str | None = None


def build_orchestrator(registry: Registry, store: Any) -> tuple[Orchestrator, list[NodeBuild]]:
    nodes: dict[Stage, list[Any]] = {stage: [] for stage in STAGE_ORDER}
    builds = []
    for name in registry.names("node:"):
        node, build = _materialise(registry, name, store)
        builds.append(build)
        if node is not None:
            nodes[Stage(node.stage)].append(node)
    timeouts = settings.MATRIZ_STAGE_TIMEOUTS_MS
    critical = set(settings.MATRIZ_CRITICAL_STAGES)
    specs = [
        StageSpec(
            stage=stage,
            nodes=tuple(stage_nodes),
            timeout_s=timeouts.get(stage.value, settings.MATRIZ_STAGE_TIMEOUT_MS) / 1000.0,
            critical=stage.value in critical,
        )
        for stage, stage_nodes in nodes.items()
    ]
    breaker_config = None
    if settings.MATRIZ_BREAKERS:
        breaker_config = BreakerConfig(
            failure_rate_threshold=settings.MATRIZ_BREAKER_FAILURE_RATE,
            slow_call_rate_threshold=settings.MATRIZ_BREAKER_SLOW_CALL_RATE,
            slow_call_duration_s=settings.MATRIZ_BREAKER_SLOW_CALL_MS / 1000.0,
            sliding_window_size=settings.MATRIZ_BREAKER_WINDOW,
            minimum_number_of_calls=settings.MATRIZ_BREAKER_MIN_CALLS,
            wait_duration_in_open_s=settings.MATRIZ_BREAKER_OPEN_SECONDS,
        )
    recorder = registry.get("monitor:prometheus")
    if not callable(getattr(recorder, "stage_finished", None)):
        recorder = None  # the orchestrator's default: Prometheus
    orchestrator = Orchestrator(
        specs,
        deadline_s=settings.MATRIZ_DEADLINE_MS / 1000.0,
        breaker_config=breaker_config,
        recorder=recorder,
    )
    log.info(
        "MATRIZ pipeline built: %s",
        ", ".join(f"{s.stage.value}={[n.name for n in s.nodes]}" for s in specs),
    )
    return orchestrator, builds


def _materialise(registry: Registry, plugin: str, store: Any) -> tuple[Any, NodeBuild]:
    """The node a registered plugin stands for, and how it was obtained."""
    record = registry.record(plugin)
    obj = record.obj
    how = record.factory_path.value if record.factory_path else "registered"
    if inspect.isclass(obj):
        try:
            params = inspect.signature(obj).parameters
        except (TypeError, ValueError):
            params = {}
        if "store" not in params:
            needed = [
                p.name
                for p in params.values()
                if p.default is inspect.Parameter.empty
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            reason = (
                f"constructor needs {', '.join(needed) or 'arguments'} the runtime cannot supply"
            )
            return None, NodeBuild(plugin, None, None, how, reason)
        config = settings.MATRIZ_PLUGIN_CONFIG.get(plugin, {})
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        kwargs = {k: v for k, v in config.items() if takes_any or k in params}
        try:
            obj = obj(store=store, **kwargs)
        except Exception as exc:
            log.exception("MATRIZ plugin %s could not be built", plugin)
            return None, NodeBuild(plugin, None, None, how, f"{type(exc).__name__}: {exc}")
        how = f"{FactoryPath.CLASS_AS_FACTORY.value}: built with the runtime's store"
    try:
        stage = Stage(obj.stage)
        name = obj.name
        if not callable(getattr(obj, "run", None)):
            raise TypeError("it has no run(ctx) method")
    except Exception as exc:
        return None, NodeBuild(plugin, None, None, how, f"not a cognitive node: {exc}")
    return obj, NodeBuild(plugin, name, stage.value, how)

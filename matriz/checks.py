"""Readiness of MATRIZ and its configuration mistakes as system checks (``matriz.E001``)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from matriz.runtime import get_runtime


def readiness() -> str:
    """Fails when a required stage has no node; reports broken plugins either way."""
    runtime = get_runtime()
    broken = [p for p in runtime.registry.describe() if p["error"]]
    unbuilt = [b for b in runtime.node_builds() if b.error]
    problems = [f"{p['name']} ({p['error']})" for p in broken]
    problems += [f"{b.plugin} ({b.error})" for b in unbuilt]
    missing = runtime.missing_stages(settings.MATRIZ_REQUIRED_STAGES)
    if missing:
        detail = f"; broken plugins: {', '.join(problems)}" if problems else ""
        raise RuntimeError(f"no node serves required stage(s) {', '.join(missing)}{detail}")
    nodes = sum(len(spec.nodes) for spec in runtime.orchestrator().specs.values())
    summary = f"{nodes} nodes over 6 stages ({settings.MATRIZ_PLUGIN_DISCOVERY} discovery)"
    if problems:
        summary += f"; broken plugins: {', '.join(problems)}"
    return summary


def check_embedder(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    if settings.MATRIZ_EMBEDDER == "onnx-minilm" and not settings.MATRIZ_ONNX_MODEL_DIR:
        return [
            checks.Error(
                "LUKHAS_MATRIZ_EMBEDDER=onnx-minilm without LUKHAS_MATRIZ_ONNX_MODEL_DIR",
                hint="Point LUKHAS_MATRIZ_ONNX_MODEL_DIR at a folder holding model.onnx and "
                "tokenizer.json, or use the hashing embedder.",
                id="matriz.E001",
            )
        ]
    return []


def check_budgets(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    slowest = max([settings.MATRIZ_STAGE_TIMEOUT_MS, *settings.MATRIZ_STAGE_TIMEOUTS_MS.values()])
    if slowest > settings.MATRIZ_DEADLINE_MS:
        return [
            checks.Warning(
                f"a stage may take {slowest} ms but a whole query only "
                f"{settings.MATRIZ_DEADLINE_MS} ms",
                hint="Raise LUKHAS_MATRIZ_DEADLINE_MS or lower the stage timeouts: the deadline "
                "cuts the stage short anyway.",
                id="matriz.W001",
            )
        ]
    return []


def check_model_aliases(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """An alias that points nowhere (or hides a real model) answers 404, never another model."""
    from matriz.facade import catalog

    real = {card.id for card in catalog.real_models()}
    problems = []
    for alias, target in settings.FACADE_MODEL_ALIASES.items():
        if alias in real:
            problems.append(f"{alias} is a model of this server already (the alias is ignored)")
        elif target not in real:
            problems.append(f"{alias} points at {target}, which is not a model of this server")
    return [
        checks.Warning(
            f"LUKHAS_MODEL_ALIASES: {problem}",
            hint="GET /v1/models lists the models an alias may point at.",
            id="matriz.W201",
        )
        for problem in problems
    ]


def register() -> None:
    checks.register(check_model_aliases)
    checks.register(check_embedder)
    checks.register(check_budgets)

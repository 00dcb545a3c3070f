"""The release's own tools: ops data as OpenAI function tools, and the router that picks one.

Each app offers tools over its own data (coordination: tasks, blockers, the
critical path, the review queue, workloads; soak: the running soak and its
gates; audits: the latest health report; matriz: memory recall) as
:class:`OpsTool` objects in the ``lukhas.tools`` entry-point group, found by
the same plugin registry as the pipeline's nodes. So MATRIZ reads other
apps' data without importing them, and a package can add a tool.

:func:`definitions` exports them as OpenAI tool definitions
(``manage.py export_openai_tools``, ``GET /v1/tools``). :func:`route` is
the deterministic router ``lukhas-matriz-1`` uses: each tool's trigger
phrases and description words are matched against the question, the best
tool wins when a trigger matched, and its arguments are built by the tool
from the question. :func:`call` runs it under the caller's own scopes
(Guardian's PDP decides, as for an API call).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from guardian.permissions import authorize_principal
from guardian.principals import Principal
from lukhas_site.errors import LukhasError
from matriz.engine.registry import Registry

log = logging.getLogger(__name__)

TOOL_GROUP = {"lukhas.tools": "tool"}
# Used when entry-point discovery is off (MATRIZ_PLUGIN_DISCOVERY=builtin), as for the nodes.
BUILTIN_TOOLS = {
    "tool:search_tasks": "coordination.ops_tools:SEARCH_TASKS",
    "tool:get_task": "coordination.ops_tools:GET_TASK",
    "tool:blockers": "coordination.ops_tools:BLOCKERS",
    "tool:critical_path": "coordination.ops_tools:CRITICAL_PATH",
    "tool:review_queue": "coordination.ops_tools:REVIEW_QUEUE",
    "tool:owner_workload": "coordination.ops_tools:OWNER_WORKLOAD",
    "tool:soak_status": "soak.ops_tools:SOAK_STATUS",
    "tool:health_report": "audits.ops_tools:HEALTH_REPORT",
    "tool:memory_query": "matriz.ops_tools:MEMORY_QUERY",
}
_WORD = re.compile(r"[a-z0-9#]+(?:-[a-z0-9]+)*")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "is",
        "are",
        "was",
        "were",
        "be",
        "and",
        "or",
        "in",
        "on",
        "for",
        "at",
        "by",
        "with",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "how",
        "many",
        "much",
        "does",
        "do",
        "did",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "me",
        "my",
        "our",
        "we",
        "us",
        "you",
        "your",
        "any",
        "all",
        "there",
        "their",
        "them",
        "show",
        "tell",
        "list",
        "give",
        "please",
        "about",
        "from",
        "now",
        "currently",
    ]
)


@dataclass(frozen=True, slots=True)
class ToolContext:
    """Who asks: the caller's principal (for scopes) and owner key (for memory)."""

    principal: Principal
    owner: str
    indexes: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What a tool found: the data (JSON), a readable answer, and where it came from."""

    data: Any
    text: str
    sources: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OpsTool:
    """One tool: its OpenAI definition, the scope it needs, and how the router finds it.

    ``triggers`` are phrases that, in a question, call for this tool
    (``"blocked"``, ``"critical path"``); ``detect`` adds to that for what a
    phrase list cannot see (a task key the question names); ``arguments``
    builds the call's arguments from a question; ``run`` does the work.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    scope: str
    triggers: tuple[str, ...]
    run: Callable[[dict[str, Any], ToolContext], ToolResult]
    arguments: Callable[[str], dict[str, Any]] = field(default=lambda question: {})
    detect: Callable[[str], int] = field(default=lambda question: 0)

    def definition(self) -> dict[str, Any]:
        """The OpenAI tool definition (chat's form; ``x-lukhas-scope`` says what it needs)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
            "x-lukhas-scope": self.scope,
        }


class ToolUnavailable(LukhasError):
    status = 403
    code = "tool_not_permitted"
    openai_type = "permission_error"


_lock = threading.Lock()
_registry: Registry | None = None


def registry() -> Registry:
    """The tools' registry, discovered once per process."""
    global _registry
    with _lock:
        if _registry is None:
            found = Registry()
            if settings.MATRIZ_PLUGIN_DISCOVERY == "auto":  # "off": the built-in tools only
                found.auto_discover(TOOL_GROUP)
            for name, target in BUILTIN_TOOLS.items():
                if name not in found:
                    found.register_target(name, target)
            _registry = found
        return _registry


def reset() -> None:
    """Forget the discovered tools (tests that install a tool)."""
    global _registry
    with _lock:
        _registry = None


def tools() -> list[OpsTool]:
    """Every tool that loaded, by name (a broken plugin is left out, and logged)."""
    found = registry()
    loaded = [found.get(name) for name in found.names("tool:")]
    return sorted((t for t in loaded if isinstance(t, OpsTool)), key=lambda t: t.name)


def tool_get(name: str) -> OpsTool | None:
    return next((tool for tool in tools() if tool.name == name), None)


def definitions() -> list[dict[str, Any]]:
    return [tool.definition() for tool in tools()]


def words(text: str) -> list[str]:
    """The question's content words, lower-cased, in order."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def _score(tool: OpsTool, question: str) -> tuple[int, int]:
    lowered = f" {' '.join(_WORD.findall(question.lower()))} "
    triggered = sum(len(t.split()) for t in tool.triggers if f" {t} " in lowered)
    triggered += tool.detect(question)
    described = len(set(words(question)) & set(words(tool.description)))
    return triggered, described


def route(question: str, offered: Sequence[OpsTool] | None = None) -> OpsTool | None:
    """The tool the question calls for, or None (a trigger phrase must match)."""
    best, best_score = None, (0, 0)
    for tool in offered if offered is not None else tools():
        score = _score(tool, question)
        if score[0] > 0 and score > best_score:
            best, best_score = tool, score
    return best


def call(tool: OpsTool, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    """Run ``tool`` as the caller: refused (ToolUnavailable) when its scope is not theirs."""
    try:
        authorize_principal(context.principal, tool.scope, route=f"tool:{tool.name}")
    except LukhasError as exc:
        raise ToolUnavailable(
            f"the tool {tool.name!r} needs the scope {tool.scope!r}, which this key may not use: "
            f"{exc.message}"
        ) from None
    return tool.run(arguments, context)

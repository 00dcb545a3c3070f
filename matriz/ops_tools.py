"""MATRIZ's own tool (``lukhas.tools``): recall from the caller's memory indexes."""

from __future__ import annotations

from typing import Any

from matriz import runtime, selectors
from matriz.tooling import OpsTool, ToolContext, ToolResult

TOP_K = 5


def _query(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    text = str(arguments.get("query") or "").strip()
    named = [str(arguments["index"])] if arguments.get("index") else list(context.indexes)
    names = named or [index.name for index in selectors.index_list(owner=context.owner)]
    if not names:
        return ToolResult({"memories": []}, "There is no memory index to recall from.")
    indexes = [selectors.index_resolve(owner=context.owner, ref=name).name for name in names]
    hits = runtime.get_runtime().recall(
        text=text, indexes=indexes, owner=context.owner, top_k=int(arguments.get("top_k") or TOP_K)
    )
    if not hits:
        return ToolResult({"memories": []}, f"Nothing in {', '.join(indexes)} recalls {text!r}.")
    lines = [f"- {hit.text}" for hit in hits]
    data = {"memories": [hit.to_dict() for hit in hits], "indexes": indexes}
    return ToolResult(data, "\n".join(lines), [f"memory:{hit.id}" for hit in hits])


MEMORY_QUERY = OpsTool(
    name="memory_query",
    description="Recall the memories closest to a query from the caller's memory indexes.",
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "index": {"type": "string", "description": "an index name or id (default: all yours)"},
            "top_k": {"type": "integer", "minimum": 1, "maximum": 50},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    scope="indexes:read",
    triggers=("remember", "memory", "memories", "recall", "my notes"),
    run=_query,
    arguments=lambda question: {"query": question.strip()},
)

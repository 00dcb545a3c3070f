"""Client tool calling: the function tools a request offers, and the calls a local model makes.

A client that sends ``tools`` with ``tool_choice: "required"`` (or naming a
function) expects ``tool_calls`` back: its agent loop runs the tool and sends
the result. The upstream model (when one answers) decides for itself; the
local models (``matriz-echo``, ``lukhas-matriz-1``) decide deterministically:

- which tool: the named one, or for ``required`` the tool whose name and
  description share the most words with the question (ties: the first);
- its arguments: built from the question to the tool's JSON schema — a
  value the question states (an enum member it names, a number, a task key,
  a token matching a ``pattern``), else the question itself for text
  fields; optional fields only when the question states them — and then
  validated with ``jsonschema``. Arguments the schema would refuse are a 400
  naming the tool, never a call the client's code would choke on.

With ``tool_choice`` ``auto`` (the default) or ``none`` a local model answers
in text. The Responses API writes tools flat (``{"type": "function",
"name": …}``), chat nests them (``{"function": {"name": …}}``); both come here
as :class:`ClientTool`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from lukhas_site.errors import InvalidRequest
from matriz.facade.common import new_id
from matriz.facade.schema_fill import fill, first_error

EMPTY_OBJECT: dict[str, Any] = {"type": "object", "properties": {}}
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = {"the", "a", "an", "of", "to", "is", "are", "and", "or", "in", "on", "for", "what"}


@dataclass(frozen=True, slots=True)
class ClientTool:
    """A function tool as the client declared it (``raw`` is echoed back as sent)."""

    name: str
    description: str
    parameters: dict[str, Any]
    raw: dict[str, Any] = field(compare=False)


def _function_tool(raw: dict[str, Any], spec: dict[str, Any], where: str) -> ClientTool:
    parameters = spec.get("parameters")
    if parameters is None:
        parameters = EMPTY_OBJECT
    if not isinstance(parameters, dict):
        raise InvalidRequest(f"{where}.parameters must be a JSON schema object", param=where)
    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as exc:
        raise InvalidRequest(
            f"{where}.parameters is not a valid JSON schema: {exc.message}", param=where
        ) from None
    return ClientTool(
        name=str(spec.get("name") or ""),
        description=str(spec.get("description") or ""),
        parameters=parameters,
        raw=raw,
    )


def chat_tools(tools: Sequence[dict[str, Any]] | None) -> list[ClientTool]:
    """Chat's ``tools``: ``{"type": "function", "function": {...}}`` (custom tools are skipped)."""
    found = []
    for position, tool in enumerate(tools or []):
        if tool.get("type") == "function":
            found.append(_function_tool(tool, tool.get("function") or {}, f"tools[{position}]"))
    return found


def responses_tools(tools: Sequence[dict[str, Any]] | None) -> list[ClientTool]:
    """The Responses API's ``tools``: only function tools can be answered here."""
    found = []
    for position, tool in enumerate(tools or []):
        kind = tool.get("type")
        if kind != "function":
            raise InvalidRequest(
                f"tools[{position}].type {kind!r} is not available here: only function tools "
                "are (hosted tools such as web or file search are OpenAI's own).",
                param=f"tools[{position}].type",
            )
        if not tool.get("name"):
            raise InvalidRequest("a function tool needs a name", param=f"tools[{position}].name")
        found.append(_function_tool(tool, tool, f"tools[{position}]"))
    return found


def as_chat_tool(tool: ClientTool) -> dict[str, Any]:
    """A tool in chat's nested form (what an upstream ``/chat/completions`` reads)."""
    function = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        function["description"] = tool.description
    if "strict" in tool.raw:
        function["strict"] = tool.raw["strict"]
    return {"type": "function", "function": function}


def as_chat_tool_choice(choice: str | dict[str, Any] | None) -> str | dict[str, Any] | None:
    """The Responses API's ``tool_choice`` in chat's form."""
    if isinstance(choice, dict) and choice.get("type") == "function" and "name" in choice:
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def pick(tools: Sequence[ClientTool], question: str) -> ClientTool:
    """The tool whose name and description share the most words with the question."""
    asked = _words(question)

    def score(tool: ClientTool) -> int:
        return len(asked & (_words(tool.name.replace("_", " ")) | _words(tool.description)))

    return max(tools, key=score)  # max keeps the first of equal scores


def forced(
    tools: Sequence[ClientTool], choice: str | dict[str, Any] | None, question: str
) -> ClientTool | None:
    """The tool a local model must call, or None when it answers in text."""
    if choice is None or choice in ("auto", "none"):
        return None
    if not tools:
        raise InvalidRequest(
            f"tool_choice {choice!r} needs tools: send the function tools to choose from",
            param="tool_choice",
        )
    if choice == "required":
        return pick(tools, question)
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind == "allowed_tools":
            allowed = {
                t.get("name") or (t.get("function") or {}).get("name")
                for t in choice.get("tools") or []
            }
            among = [tool for tool in tools if tool.name in allowed]
            if not among:
                raise InvalidRequest(
                    "tool_choice.tools names none of the tools", param="tool_choice"
                )
            return pick(among, question) if choice.get("mode") == "required" else None
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        if kind == "function" and name:
            for tool in tools:
                if tool.name == name:
                    return tool
            known = ", ".join(tool.name for tool in tools)
            raise InvalidRequest(
                f"tool_choice names function {name!r}, which is not among the tools ({known})",
                param="tool_choice",
            )
    raise InvalidRequest(
        "tool_choice must be 'none', 'auto', 'required' or name a function tool",
        param="tool_choice",
    )


def arguments_for(tool: ClientTool, question: str) -> dict[str, Any]:
    """Arguments for ``tool`` built from the question, valid against its parameters schema."""
    built = fill(tool.parameters, question)
    if not isinstance(built, dict):
        built = {}
    problem = first_error(tool.parameters, built)
    if problem:
        raise InvalidRequest(
            f"{tool.name!r} cannot be called by this model: no arguments its parameters schema "
            f"accepts can be built from the question ({problem}). Ask a model answered by the "
            "upstream (GET /v1/models), or loosen the schema.",
            param="tool_choice",
        )
    return built


def call_of(tool: ClientTool, question: str) -> dict[str, Any]:
    """A chat ``tool_calls`` entry for ``tool`` (id ``call_…``, arguments as a JSON string)."""
    arguments = json.dumps(arguments_for(tool, question), ensure_ascii=False)
    return {
        "id": new_id("call"),
        "type": "function",
        "function": {"name": tool.name, "arguments": arguments},
    }


def argument_pieces(arguments: str, size: int = 16) -> Iterator[str]:
    """The arguments string in stream-sized pieces, as OpenAI streams them."""
    for start in range(0, len(arguments), size):
        yield arguments[start : start + size]


@dataclass(slots=True)
class ToolCallDelta:
    """A piece of one tool call in a stream: its index, then id and name once, then arguments."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""

    def to_chat(self) -> dict[str, Any]:
        """The ``delta.tool_calls`` entry of a ``chat.completion.chunk``."""
        function: dict[str, Any] = {"arguments": self.arguments}
        if self.name is not None:
            function = {"name": self.name, **function}
        head = {"id": self.id, "type": "function"} if self.id is not None else {}
        return {"index": self.index, **head, "function": function}


class ToolCalls:
    """Whole tool calls gathered from their stream pieces, in index order."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}

    def add(self, delta: ToolCallDelta) -> None:
        call = self._calls.setdefault(
            delta.index, {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
        )
        if delta.id is not None:
            call["id"] = delta.id
        if delta.name is not None:
            call["function"]["name"] = delta.name
        call["function"]["arguments"] += delta.arguments

    def __bool__(self) -> bool:
        return bool(self._calls)

    def all(self) -> list[dict[str, Any]]:
        return [self._calls[index] for index in sorted(self._calls)]


def deltas_of(call: dict[str, Any], index: int) -> Iterator[ToolCallDelta]:
    """A whole tool call as stream pieces (the head, then its arguments)."""
    function = call.get("function") or {}
    yield ToolCallDelta(index, id=call.get("id"), name=function.get("name", ""))
    for piece in argument_pieces(function.get("arguments") or ""):
        yield ToolCallDelta(index, arguments=piece)


def tool_results(messages: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(tool name, result) of the tool messages after the last user message."""
    names: dict[str, str] = {}
    results: list[tuple[str, str]] = []
    for message in messages:
        role = message.get("role")
        if role == "user":
            results = []
        for call in message.get("tool_calls") or []:
            names[str(call.get("id"))] = (call.get("function") or {}).get("name", "")
        if role == "tool":
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(
                    str(part.get("text", "")) for part in content if isinstance(part, dict)
                )
            name = names.get(str(message.get("tool_call_id")), "") or "tool"
            results.append((name, str(content or "")))
    return results

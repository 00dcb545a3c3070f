"""How the façade answers a conversation: echo, the MATRIZ pipeline, or an upstream model.

Both /v1/chat/completions and /v1/responses come here with the conversation
as chat messages. :func:`prepare` does the checks that must refuse *before*
a stream starts (model, indexes of the owner, text size); :class:`AnswerRun`
then yields the answer's text in deltas and, once drained, knows its finish
reason, status and reasoning chain (the ``lukhas`` extension field).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from lukhas_site.errors import InvalidRequest
from matriz import runtime, selectors, tooling
from matriz.engine import ChainLink, LinkStatus, Stage
from matriz.facade import catalog, structured
from matriz.facade.tokens import content_text, count_tokens, split_for_stream, truncate_to_tokens
from matriz.facade.tools import ToolCallDelta, ToolCalls, deltas_of, tool_results
from matriz.facade.upstream import (
    ScoredText,
    UpstreamCall,
    UpstreamFailed,
    breaker_for,
    node_name,
    upstream_model_for,
)
from matriz.runtime import QueryPlan

log = logging.getLogger(__name__)

INDEX_SEPARATOR = ","
NO_INDEX_ANSWER = (
    "No memory index was named for this question, so MATRIZ had nothing to recall. "
    'Name your indexes in the request metadata: {"indexes": "<index name or id>,..."}.'
)


def index_refs(metadata: dict[str, str] | None) -> list[str]:
    """Index names or ids from ``metadata.indexes`` (comma-separated), de-duplicated in order."""
    raw = (metadata or {}).get("indexes") or ""
    refs: list[str] = []
    for part in raw.split(INDEX_SEPARATOR):
        ref = part.strip()
        if ref and ref not in refs:
            refs.append(ref)
    return refs


def resolve_indexes(*, owner: str, refs: Sequence[str]) -> list[str]:
    """Names of the owner's indexes given by name or public id; NotFound for any other."""
    names: list[str] = []
    for ref in refs:
        index = selectors.index_resolve(owner=owner, ref=ref)
        if index.name not in names:
            names.append(index.name)
    return names


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return content_text(messages[-1].get("content")) if messages else ""


@dataclass(slots=True)
class Turn:
    """One request to answer, as both chat completions and responses describe it."""

    model: str
    messages: list[dict[str, Any]]
    owner: str
    indexes: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # passed on upstream
    upstream_model: str | None = None
    plan: QueryPlan | None = None  # the checked MATRIZ query, when there is one to run
    tool_call: dict[str, Any] | None = None  # the client tool a local model calls instead
    output_format: structured.OutputFormat | None = None  # JSON asked for (response_format)
    principal: Any = None  # the caller, whose scopes the release's own tools run under

    @property
    def query(self) -> str:
        return last_user_text(self.messages)


def prepare(
    *,
    model: str,
    messages: list[dict[str, Any]],
    owner: str,
    metadata: dict[str, str] | None,
    max_tokens: int | None,
    options: dict[str, Any] | None = None,
) -> Turn:
    """Check what must be refused before answering (sync: it reads the database)."""
    model = catalog.model_get(model, kind="chat").id  # an alias answers as its target
    turn = Turn(
        model=model,
        messages=messages,
        owner=owner,
        max_tokens=max_tokens,
        options=dict(options or {}),
        upstream_model=upstream_model_for(model),
    )
    if model != catalog.ECHO_MODEL:
        refs = index_refs(metadata)
        if refs:
            turn.indexes = resolve_indexes(owner=owner, refs=refs)
            query = turn.query
            if not query.strip():
                raise InvalidRequest("the conversation has no user text to answer", param="input")
            # The one check of the query text (size, type): the run uses this plan as is.
            turn.plan = runtime.get_runtime().plan(
                text=query, indexes=turn.indexes, owner=owner, text_param="input"
            )
    return turn


def _upstream_link(node: str, duration_ms: float, *, error: str | None = None) -> dict[str, Any]:
    status = LinkStatus.ERROR if error else LinkStatus.OK
    return ChainLink(
        Stage.ACTION,
        node,
        status,
        duration_ms,
        error_type="UpstreamFailed" if error else None,
        error_message=error,
    ).to_dict()


def _fallback_link(node: str, fallback: str) -> dict[str, Any]:
    """The local action answer standing in for ``node`` (its breaker's fallback)."""
    return ChainLink(Stage.ACTION, fallback, LinkStatus.OK, 0.0, fallback_for=node).to_dict()


class AnswerRun:
    """Produces one answer: iterate :meth:`deltas`, then read text, finish_reason, extension."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.text = ""
        self.finish_reason = "stop"
        self.status = "ok"
        self.chain: list[dict[str, Any]] = []
        self.memories: list[dict[str, Any]] = []
        self.query_id: str | None = None
        self.upstream_usage: dict[str, Any] | None = None
        self.tool_calls = ToolCalls()
        self.sources: list[str] = []
        # The upstream's token log probabilities, when asked for and sent (None: none came).
        self.logprobs: list[dict[str, Any]] | None = None

    @property
    def extension(self) -> dict[str, Any]:
        """The ``lukhas`` field of an answer (SDK objects keep unknown fields)."""
        return {
            "status": self.status,
            "query_id": self.query_id,
            "reasoning_chain": self.chain,
            "memories": self.memories,
            "indexes": self.turn.indexes,
            "sources": self.sources,
        }

    @property
    def completion_tokens(self) -> int:
        calls = self.tool_calls.all()
        return count_tokens(self.text) + sum(
            count_tokens(call["function"]["name"] + call["function"]["arguments"]) for call in calls
        )

    async def _local_text(self) -> str:
        turn = self.turn
        results = tool_results(turn.messages)
        if results:
            # The client ran the tools it was asked to: a local model answers from their results.
            if len(results) == 1:
                return results[0][1]
            return "\n".join(f"{name}: {content}" for name, content in results)
        if turn.model == catalog.ECHO_MODEL:
            return turn.query
        if turn.plan is None:
            if (
                turn.model == catalog.MATRIZ_MODEL
                and turn.principal is not None
                and settings.MATRIZ_OPS_TOOLS
                and not turn.upstream_model  # the upstream calls our tools itself
            ):
                answered = await sync_to_async(self._ops_answer)()
                if answered is not None:
                    return answered
            return NO_INDEX_ANSWER
        result = await runtime.get_runtime().arun_plan(turn.plan)
        outcome = result.to_dict()
        self.query_id = outcome["query_id"]
        self.chain = outcome["chain"]
        self.status = outcome["status"]
        self.memories = await sync_to_async(self._memory_texts)(outcome["memories"])
        if not result.ok or result.answer is None:
            error = outcome.get("error") or {}
            raise PipelineFailed(error.get("message") or "the MATRIZ pipeline did not answer")
        return result.answer

    def _ops_answer(self) -> str | None:
        """The answer from the release's own tool the question calls for (None: no tool fits).

        Asked only when no memory index is named (naming one asks for recall).
        The call runs under the caller's scopes and is a link of the chain
        with its arguments and the size of what it returned.
        """
        question = self.turn.query
        tool = tooling.route(question)
        if tool is None:
            return None
        arguments = tool.arguments(question)
        context = tooling.ToolContext(self.turn.principal, self.turn.owner, self.turn.indexes)
        started = time.perf_counter()
        node = f"tool:{tool.name}"
        try:
            result = tooling.call(tool, arguments, context)
        except tooling.ToolUnavailable as exc:
            elapsed = (time.perf_counter() - started) * 1000
            link = ChainLink(
                Stage.ACTION,
                node,
                LinkStatus.ERROR,
                elapsed,
                error_type="ToolUnavailable",
                error_message=exc.message,
            )
            self.chain.append(
                {**link.to_dict(), "tool": {"name": tool.name, "arguments": arguments}}
            )
            return f"I would answer this with {tool.name}, but {exc.message}."
        except Exception as exc:
            log.warning("tool %s failed: %s", tool.name, exc, exc_info=True)
            raise PipelineFailed(f"the tool {tool.name} failed: {exc}") from exc
        elapsed = (time.perf_counter() - started) * 1000
        size = len(json.dumps(result.data, default=str))
        link = ChainLink(Stage.ACTION, node, LinkStatus.OK, elapsed).to_dict()
        self.chain.append(
            {**link, "tool": {"name": tool.name, "arguments": arguments, "result_size": size}}
        )
        self.sources = list(result.sources)
        if not result.sources:
            return result.text
        return f"{result.text}\n\nSources: {', '.join(result.sources)}"

    def _memory_texts(self, memories: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [m["id"] for m in memories]
        texts = selectors.item_texts(owner=self.turn.owner, names=self.turn.indexes, ids=ids)
        return [{**m, "text": texts.get(m["id"])} for m in memories]

    async def deltas(self) -> AsyncIterator[str | ToolCallDelta]:
        """The answer in pieces (text, or tool-call pieces); raises PipelineFailed without one."""
        if self.turn.tool_call is not None and not self.turn.upstream_model:
            async for piece in self._local_tool_call(self.turn.tool_call):
                yield piece
            return
        local = await self._local_text()
        if self.turn.upstream_model:
            async for piece in self._upstream(local):
                if isinstance(piece, ToolCallDelta):
                    self.tool_calls.add(piece)
                else:
                    self.text += piece
                    if isinstance(piece, ScoredText):
                        if self.logprobs is None:
                            self.logprobs = []
                        self.logprobs.extend(piece.logprobs)
                yield piece
            if self.tool_calls and self.finish_reason == "stop":
                self.finish_reason = "tool_calls"  # consistent with what the answer holds
            fmt = self.turn.output_format
            if fmt is not None and self.status != "degraded" and not self.tool_calls:
                structured.check_upstream(fmt, self.text)
            return
        self.text = self._local_answer(local)
        for piece in split_for_stream(self.text):
            yield piece

    def _local_answer(self, local: str) -> str:
        """The local answer as asked: cut by stop / max tokens, then as JSON when asked."""
        text = self._finished(local)
        fmt = self.turn.output_format
        if fmt is None:
            return text
        sources = [m["text"] for m in self.memories if m.get("text")]
        return structured.local_json(fmt, text, sources)

    async def _local_tool_call(self, call: dict[str, Any]) -> AsyncIterator[ToolCallDelta]:
        """The client's tool, called as ``tool_choice`` asked (arguments already built)."""
        node = f"client_tool:{call['function']['name']}"
        self.chain.append(ChainLink(Stage.ACTION, node, LinkStatus.OK, 0.0).to_dict())
        self.finish_reason = "tool_calls"
        for piece in deltas_of(call, 0):
            self.tool_calls.add(piece)
            yield piece

    def _finished(self, text: str) -> str:
        """The local answer as the request shapes it: cut at a stop sequence, then at max tokens."""
        stops = self.turn.options.get("stop")
        stops = [stops] if isinstance(stops, str) else [s for s in stops or [] if s]
        cuts = [text.find(stop) for stop in stops if stop and stop in text]
        if cuts:
            text = text[: min(cuts)]  # OpenAI: the stop sequence itself is not returned
        if self.turn.max_tokens is not None:
            text, cut = truncate_to_tokens(text, self.turn.max_tokens)
            if cut:
                self.finish_reason = "length"
        return text

    def _own_tools(self, options: dict[str, Any]) -> dict[str, tooling.OpsTool]:
        """Offer the release's own tools to the upstream beside the client's (theirs win a name)."""
        turn = self.turn
        if not (
            turn.model == catalog.MATRIZ_MODEL
            and turn.principal is not None
            and settings.MATRIZ_OPS_TOOLS
        ):
            return {}
        offered = list(options.get("tools") or [])
        taken = {(tool.get("function") or {}).get("name") for tool in offered}
        own = {tool.name: tool for tool in tooling.tools() if tool.name not in taken}
        for tool in own.values():
            definition = tool.definition()
            offered.append({"type": "function", "function": definition["function"]})
        if own:
            options["tools"] = offered
        return own

    def _run_own(self, tool: tooling.OpsTool, call: dict[str, Any], round_no: int) -> str:
        """One server-side call of an own tool the upstream asked for: its result, as JSON text."""
        started = time.perf_counter()
        try:
            arguments = json.loads(call["function"].get("arguments") or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("arguments are not a JSON object")
        except ValueError as exc:
            arguments, error = {}, f"invalid arguments: {exc}"
        else:
            error = None
        node = f"tool:{tool.name}"
        context = tooling.ToolContext(self.turn.principal, self.turn.owner, self.turn.indexes)
        if error is None:
            try:
                result = tooling.call(tool, arguments, context)
            except tooling.ToolUnavailable as exc:
                error = exc.message
        elapsed = (time.perf_counter() - started) * 1000
        detail: dict[str, Any] = {"name": tool.name, "arguments": arguments, "round": round_no}
        if error is not None:
            link = ChainLink(
                Stage.ACTION, node, LinkStatus.ERROR, elapsed, error_type="ToolError",
                error_message=error,
            )  # fmt: skip
            self.chain.append({**link.to_dict(), "tool": detail})
            return json.dumps({"error": error})
        content = json.dumps(
            {"answer": result.text, "data": result.data, "sources": result.sources}, default=str
        )
        self.sources += [s for s in result.sources if s not in self.sources]
        detail["result_size"] = len(content)
        link = ChainLink(Stage.ACTION, node, LinkStatus.OK, elapsed).to_dict()
        self.chain.append({**link, "tool": detail})
        return content

    async def _upstream(self, local: str) -> AsyncIterator[str | ToolCallDelta]:
        """The upstream's answer; calls to the release's own tools are run here, in rounds.

        The upstream sees the client's tools and ours. A round whose calls are
        all ours is answered server-side (each call a chain link) and the
        upstream asked again, at most ``FACADE_TOOL_ROUNDS`` times; calls to
        the client's tools go back to the client, renumbered from 0.
        """
        turn = self.turn
        node = node_name(turn.upstream_model or "")
        breaker = breaker_for(turn.upstream_model or "")
        messages = list(turn.messages)
        if self.memories:
            recalled = "\n".join(f"- {m['text']}" for m in self.memories if m.get("text"))
            messages.insert(0, {"role": "system", "content": f"Relevant memories:\n{recalled}"})
        options = dict(turn.options)
        if turn.max_tokens is not None:
            options["max_tokens"] = turn.max_tokens
        own = self._own_tools(options)
        for round_no in range(settings.FACADE_TOOL_ROUNDS + 1):
            call = UpstreamCall(
                model=turn.upstream_model or "", messages=messages, options=options, breaker=breaker
            )
            started = time.perf_counter()
            stream = call.deltas()
            try:
                first = await stream.__anext__()
            except StopAsyncIteration:
                first = None
            except UpstreamFailed as exc:
                elapsed = (time.perf_counter() - started) * 1000
                self.chain.append(_upstream_link(node, elapsed, error=str(exc)))
                fallback = getattr(breaker.fallback, "name", None) or "action.local_answer"
                self.chain.append(_fallback_link(node, fallback))
                self.status = "degraded"
                for piece in split_for_stream(self._local_answer(local)):
                    yield piece
                return
            ours, placed = ToolCalls(), {}  # upstream index → "own" or the client's index
            if first is not None:
                async for piece in _chained(first, stream):
                    if isinstance(piece, ToolCallDelta):
                        where = placed.get(piece.index)
                        if where is None:
                            where = (
                                "own"
                                if piece.name in own
                                else sum(1 for v in placed.values() if v != "own")
                            )
                            placed[piece.index] = where
                        if where == "own":
                            ours.add(piece)
                            continue
                        piece = ToolCallDelta(where, piece.id, piece.name, piece.arguments)
                    yield piece
            self.finish_reason = call.finish_reason
            self.upstream_usage = call.usage
            elapsed = (time.perf_counter() - started) * 1000
            self.chain.append(_upstream_link(node, elapsed))
            client_calls = any(where != "own" for where in placed.values())
            if not ours or client_calls:
                break  # answered, or the client has tools to run (our calls are dropped then)
            if round_no == settings.FACADE_TOOL_ROUNDS:
                self.finish_reason = "stop"  # rounds used up: nothing left for the client to run
                break
            calls = ours.all()
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            for own_call in calls:
                tool = own[own_call["function"]["name"]]
                content = await sync_to_async(self._run_own)(tool, own_call, round_no + 1)
                messages.append(
                    {"role": "tool", "tool_call_id": own_call["id"], "content": content}
                )

    async def run(self) -> str:
        async for _ in self.deltas():
            pass
        return self.text


class PipelineFailed(Exception):
    pass


async def _chained(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for item in rest:
        yield item

"""POST /v1/responses (answers and event streams) and GET /v1/responses/{id}.

A stream sends, with increasing ``sequence_number``, exactly the events the
SDK's ``client.responses.stream()`` helper accumulates, in its order:
response.created, response.in_progress, response.output_item.added,
response.content_part.added, response.output_text.delta (n times),
response.output_text.done, response.content_part.done,
response.output_item.done, response.completed. A failure after the stream
began ends it with ``error`` and ``response.failed`` (the status is already 200).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Query, Router

from lukhas_site.errors import InvalidRequest
from matriz import selectors, services
from matriz.facade import catalog, params, structured, tools
from matriz.facade.answer import AnswerRun, PipelineFailed, Turn, prepare
from matriz.facade.common import (
    Caller,
    DeletedOut,
    ListOut,
    OutModel,
    PageParams,
    acaller,
    caller,
    new_id,
    now,
)
from matriz.facade.schemas import ResponseCreateIn
from matriz.facade.sse import encode_event, with_heartbeats
from matriz.facade.tokens import content_text, count_message_tokens
from matriz.facade.tools import ToolCallDelta, ToolCalls
from matriz.models import new_response_id

log = logging.getLogger(__name__)
router = Router()


class ResponseOut(OutModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: str
    model: str
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None = None
    lukhas: dict[str, Any] | None = None


def _extra(item: Any, name: str, position: int) -> str:
    value = (item.model_extra or {}).get(name)
    if not isinstance(value, str) or (name != "output" and not value):
        raise InvalidRequest(
            f"input[{position}] ({item.type}) needs {name} (a string)",
            param=f"input[{position}].{name}",
        )
    return value


def input_messages(payload: ResponseCreateIn) -> list[dict[str, Any]]:
    """The request's input as chat messages (function calls and their outputs included)."""
    if payload.input is None:
        return []
    if isinstance(payload.input, str):
        return [{"role": "user", "content": payload.input}]
    messages: list[dict[str, Any]] = []
    for position, item in enumerate(payload.input):
        if item.type == "function_call":
            call = {
                "id": _extra(item, "call_id", position),
                "type": "function",
                "function": {
                    "name": _extra(item, "name", position),
                    "arguments": _extra(item, "arguments", position),
                },
            }
            last = messages[-1] if messages else None
            if last and last["role"] == "assistant" and last.get("tool_calls") is not None:
                last["tool_calls"].append(call)  # parallel calls: one assistant turn
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            continue
        if item.type == "function_call_output":
            call_id = _extra(item, "call_id", position)
            output = _extra(item, "output", position)
            messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
            continue
        if item.type not in (None, "message"):
            raise InvalidRequest(
                f"input[{position}].type {item.type!r} is not supported; send message, "
                "function_call or function_call_output items",
                param=f"input[{position}].type",
            )
        role = item.role or "user"
        messages.append({"role": role, "content": content_text(item.content)})
    return messages


def input_items(payload: ResponseCreateIn) -> list[dict[str, Any]]:
    """This request's input as Responses items with ids (``input_items`` lists them)."""
    items = []
    for message in input_messages(payload):
        if message.get("tool_calls"):
            items.extend(function_call_item(call) for call in message["tool_calls"])
            continue
        if message["role"] == "tool":
            items.append(
                {
                    "id": new_id("fco"),
                    "type": "function_call_output",
                    "call_id": message["tool_call_id"],
                    "output": message["content"],
                    "status": "completed",
                }
            )
            continue
        kind = "output_text" if message["role"] == "assistant" else "input_text"
        items.append(
            {
                "id": new_id("msg"),
                "type": "message",
                "role": message["role"],
                "status": "completed",
                "content": [{"type": kind, "text": message["content"]}],
            }
        )
    return items


def function_call_item(call: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    """A chat tool call as the Responses API's ``function_call`` item."""
    return {
        "type": "function_call",
        "id": new_id("fc"),
        "call_id": call.get("id") or new_id("call"),
        "name": call["function"]["name"],
        "arguments": call["function"]["arguments"] if status == "completed" else "",
        "status": status,
    }


def output_of(run: AnswerRun, text: str, status: str) -> list[dict[str, Any]]:
    """A finished answer's output items: its message (unless it only calls tools), its calls."""
    calls = [function_call_item(call) for call in run.tool_calls.all()]
    message = (
        [message_item(new_id("msg"), text, status=status, logprobs=run.logprobs)]
        if text or not calls
        else []
    )
    return message + calls


def context(payload: ResponseCreateIn, owner: str) -> tuple[list[dict], list[dict]]:
    """(conversation to answer, what to store): previous response, instructions, input."""
    history: list[dict[str, Any]] = []
    if payload.previous_response_id:
        previous = selectors.response_get(
            owner=owner, public_id=payload.previous_response_id, param="previous_response_id"
        )
        history = list(previous.input_messages)
    conversation = history + input_messages(payload)
    answered = list(conversation)
    if payload.instructions:
        answered.insert(0, {"role": "system", "content": payload.instructions})
    return answered, conversation


def message_item(
    item_id: str,
    text: str,
    status: str = "completed",
    logprobs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": logprobs or []}
    content = [part]
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": [] if status == "in_progress" else content,
    }


def response_object(
    payload: ResponseCreateIn,
    *,
    response_id: str,
    created_at: int,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    extension: dict[str, Any] | None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    # OpenAI: a response cut by max_output_tokens is "incomplete", saying why.
    incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": bool(payload.background),
        "error": error,
        "incomplete_details": incomplete,
        "instructions": payload.instructions,
        "max_output_tokens": payload.max_output_tokens,
        "model": catalog.canonical(payload.model),
        "output": output,
        "parallel_tool_calls": payload.parallel_tool_calls
        if payload.parallel_tool_calls is not None
        else True,
        "previous_response_id": payload.previous_response_id,
        "reasoning": {"effort": None, "summary": None},
        "store": payload.store,
        "temperature": payload.temperature if payload.temperature is not None else 1.0,
        "text": {"format": (payload.text or {}).get("format") or {"type": "text"}},
        "tool_choice": payload.tool_choice if payload.tool_choice is not None else "auto",
        "tools": payload.tools or [],
        "top_p": payload.top_p if payload.top_p is not None else 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": payload.user,
        "metadata": payload.metadata or {},
        "lukhas": extension,
    }


def usage_of(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _store(
    payload: ResponseCreateIn, owner: str, conversation: list[dict], body: dict, run: AnswerRun
) -> None:
    if not payload.store:
        return
    services.response_store(
        public_id=body["id"],
        owner=owner,
        model=catalog.canonical(payload.model),
        conversation=conversation,
        output_text=run.text,
        body=body,
        input_items=input_items(payload),
        tool_calls=run.tool_calls.all(),
    )


def _include_applied(payload: ResponseCreateIn, turn: Turn) -> frozenset[str]:
    """``include`` counts as honoured when an upstream answers and it asks only for logprobs."""
    wanted = set(payload.include or [])
    if turn.upstream_model and wanted and wanted <= {params.LOGPROBS_INCLUDE}:
        return frozenset({"include"})
    return frozenset()


def _status(run: AnswerRun) -> str:
    return "incomplete" if run.finish_reason == "length" else "completed"


astore = sync_to_async(_store)


def prepare_response(payload: ResponseCreateIn, owner: str) -> tuple[Turn, list[dict], list[dict]]:
    answered, conversation = context(payload, owner)
    if not answered:
        raise InvalidRequest("input is empty", param="input")
    turn = prepare(
        model=payload.model,
        messages=answered,
        owner=owner,
        metadata=payload.metadata,
        max_tokens=payload.max_output_tokens,
        options=params.options_for_upstream(payload, params.RESPONSES_PASSED_ON),
    )
    params.responses_refusals(payload, upstream=bool(turn.upstream_model))
    offered = tools.responses_tools(payload.tools)
    turn.output_format = structured.responses_format(payload.text)
    if turn.upstream_model:
        if params.responses_wants_logprobs(payload):
            turn.options["logprobs"] = True
        if turn.output_format is not None:
            turn.options["response_format"] = turn.output_format.for_chat_upstream()
        if offered:
            turn.options["tools"] = [tools.as_chat_tool(tool) for tool in offered]
        if payload.tool_choice is not None:
            turn.options["tool_choice"] = tools.as_chat_tool_choice(payload.tool_choice)
        if payload.parallel_tool_calls is not None:
            turn.options["parallel_tool_calls"] = payload.parallel_tool_calls
    else:
        chosen = tools.forced(offered, payload.tool_choice, turn.query)
        if chosen is not None:
            turn.tool_call = tools.call_of(chosen, turn.query)
        elif turn.output_format is not None:
            structured.check_local(turn.output_format, turn.query)
    return turn, answered, conversation


@router.post(
    "/responses", response=ResponseOut, url_name="v1_responses", operation_id="createResponse"
)
async def create_response(
    request: HttpRequest, payload: ResponseCreateIn, response: HttpResponse
) -> dict | StreamingHttpResponse:
    """The Responses API over MATRIZ (``lukhas-matriz-1``) or the echo model.

    ``metadata.indexes`` names the caller's memory indexes (names or ids,
    comma-separated); the reasoning chain is in the ``lukhas`` field.
    """
    who = await acaller(request, "responses:write")
    turn, answered, conversation = await sync_to_async(prepare_response)(payload, who.owner)
    turn.principal = who.principal
    run = AnswerRun(turn)
    input_tokens = count_message_tokens(answered)
    dropped = params.ignored(
        payload,
        applied=params.RESPONSES_APPLIED | _include_applied(payload, turn),
        passed_on=params.RESPONSES_PASSED_ON if turn.upstream_model else (),
    )
    ignored = {params.IGNORED_HEADER: ", ".join(dropped)} if dropped else {}
    if payload.stream:
        events = _stream(payload, run, who, conversation, input_tokens)
        return StreamingHttpResponse(
            with_heartbeats(events, interval=settings.FACADE_HEARTBEAT_SECONDS),
            content_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **ignored},
        )
    for name, value in ignored.items():
        response[name] = value
    if payload.background:
        return await sync_to_async(_queue)(payload, who)
    body, usage = await answer_body(payload, run, input_tokens, new_response_id(), now())
    if usage is not None:
        await astore(payload, who.owner, conversation, body, run)
        await who.acharge(usage["total_tokens"])
    return body


async def answer_body(
    payload: ResponseCreateIn, run: AnswerRun, input_tokens: int, response_id: str, created_at: int
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run the answer: the response object, and its usage (None when it failed)."""
    try:
        text = await run.run()
    except PipelineFailed as exc:
        failed = response_object(
            payload,
            response_id=response_id,
            created_at=created_at,
            status="failed",
            output=[],
            usage=None,
            extension=run.extension,
            error={"code": "server_error", "message": f"MATRIZ could not answer: {exc}"},
        )
        return failed, None
    usage = usage_of(input_tokens, run.completion_tokens)
    status = _status(run)
    body = response_object(
        payload,
        response_id=response_id,
        created_at=created_at,
        status=status,
        output=output_of(run, text, status),
        usage=usage,
        extension=run.extension,
    )
    return body, usage


def _queue(payload: ResponseCreateIn, who: Caller) -> dict[str, Any]:
    """``background: true``: keep the response queued and start the job that answers it."""
    if not payload.store:
        raise InvalidRequest(
            "background responses are kept to be polled: store must be true", param="store"
        )
    if payload.stream:
        raise InvalidRequest(
            "a background response is polled with GET /v1/responses/{id}, not streamed: "
            "send stream false (or omit background)",
            param="stream",
        )
    body = response_object(
        payload,
        response_id=new_response_id(),
        created_at=now(),
        status="queued",
        output=[],
        usage=None,
        extension=None,
    )
    principal = who.principal
    ref = (
        {"kind": "api_key", "id": principal.api_key.pk}
        if principal.api_key is not None
        else {"kind": "user", "id": getattr(principal.user, "pk", None)}
    )
    stored = services.response_queue(
        owner=who.owner,
        body=body,
        request=payload.model_dump(mode="json", exclude_none=True),
        principal_ref=ref,
        input_items=input_items(payload),
    )
    return stored.body


async def _stream(
    payload: ResponseCreateIn,
    run: AnswerRun,
    who: Caller,
    conversation: list[dict],
    input_tokens: int,
) -> AsyncIterator[bytes]:
    response_id, created_at = new_response_id(), now()
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> bytes:
        return encode_event({"type": kind, "sequence_number": next(sequence), **fields}, event=kind)

    def snapshot(status: str, output: list, **extra: Any) -> dict[str, Any]:
        return response_object(
            payload,
            response_id=response_id,
            created_at=created_at,
            status=status,
            output=output,
            usage=extra.pop("usage", None),
            extension=extra.pop("extension", None),
            **extra,
        )

    yield event("response.created", response=snapshot("in_progress", []))
    yield event("response.in_progress", response=snapshot("in_progress", []))
    output = _StreamedOutput(event)
    try:
        async for piece in run.deltas():
            for data in output.add(piece):
                yield data
    except Exception as exc:  # the stream has begun: fail in-band, never a 500
        log.warning("response stream %s failed: %s", response_id, exc, exc_info=True)
        message = f"MATRIZ could not answer: {exc}"
        error = {"code": "server_error", "message": message}
        yield event("error", code="server_error", message=message, param=None)
        yield event(
            "response.failed",
            response=snapshot("failed", [], error=error, extension=run.extension),
        )
        await who.acharge(input_tokens + run.completion_tokens)
        return
    status = _status(run)
    for data in output.close(status):
        yield data
    usage = usage_of(input_tokens, run.completion_tokens)
    body = snapshot(status, output.items, usage=usage, extension=run.extension)
    await astore(payload, who.owner, conversation, body, run)
    yield event(f"response.{status}", response=body)
    await who.acharge(usage["total_tokens"])


class _StreamedOutput:
    """Opens and closes output items as the answer's pieces come, with their events.

    Text streams live into a message item. Tool-call pieces are gathered
    (an upstream may interleave several calls by index) and each call is
    sent as one ``function_call`` item once the calls are whole: before any
    later text, or at the end. An answer with neither text nor calls still
    gets its (empty) message item, as before tools existed.
    """

    def __init__(self, event: Any) -> None:
        self.event = event
        self.items: list[dict[str, Any]] = []
        self.message: dict[str, Any] | None = None  # the message item being streamed
        self.text = ""
        self.scores: list[dict[str, Any]] = []  # the open message's token log probabilities
        self.pending = ToolCalls()

    def add(self, piece: str | ToolCallDelta) -> list[bytes]:
        if isinstance(piece, ToolCallDelta):
            self.pending.add(piece)
            return []
        out = self._flush_calls()
        if self.message is None:
            out += self._open_message()
        self.text += piece
        scores = getattr(piece, "logprobs", [])
        self.scores.extend(scores)
        where = self._where(self.message)
        out.append(self.event("response.output_text.delta", **where, delta=piece, logprobs=scores))
        return out

    def _where(self, item: dict[str, Any] | None) -> dict[str, Any]:
        assert item is not None
        return {"item_id": item["id"], "output_index": len(self.items), "content_index": 0}

    def _open_message(self) -> list[bytes]:
        self.message, self.text = message_item(new_id("msg"), "", status="in_progress"), ""
        self.scores = []
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        index = len(self.items)
        return [
            self.event("response.output_item.added", output_index=index, item=self.message),
            self.event("response.content_part.added", **self._where(self.message), part=part),
        ]

    def _close_message(self, status: str) -> list[bytes]:
        item, self.message = self.message, None
        if item is None:
            return []
        text, index = self.text, len(self.items)
        scores = self.scores
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": scores}
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        done = message_item(item["id"], text, status=status, logprobs=scores)
        self.items.append(done)
        return [
            self.event("response.output_text.done", **where, text=text, logprobs=scores),
            self.event("response.content_part.done", **where, part=part),
            self.event("response.output_item.done", output_index=index, item=done),
        ]

    def _flush_calls(self) -> list[bytes]:
        if not self.pending:
            return []
        out = self._close_message("completed")
        calls, self.pending = self.pending.all(), ToolCalls()
        for call in calls:
            index, done = len(self.items), function_call_item(call)
            where = {"item_id": done["id"], "output_index": index}
            opened = {**done, "arguments": "", "status": "in_progress"}
            out.append(self.event("response.output_item.added", output_index=index, item=opened))
            for piece in tools.argument_pieces(done["arguments"]):
                out.append(
                    self.event("response.function_call_arguments.delta", **where, delta=piece)
                )
            out.append(
                self.event(
                    "response.function_call_arguments.done",
                    **where,
                    name=done["name"],
                    arguments=done["arguments"],
                )
            )
            self.items.append(done)
            out.append(self.event("response.output_item.done", output_index=index, item=done))
        return out

    def close(self, status: str) -> list[bytes]:
        out = self._close_message(status) + self._flush_calls()
        if not self.items:
            out += self._open_message() + self._close_message(status)
        return out


@router.get(
    "/responses/{response_id}",
    response=ResponseOut,
    url_name="v1_response",
    operation_id="retrieveResponse",
)
def retrieve_response(request: HttpRequest, response_id: str) -> dict:
    """A stored response of the caller (``store`` was not false)."""
    owner = caller(request, "models:read").owner
    return selectors.response_get(owner=owner, public_id=response_id).body


@router.delete(
    "/responses/{response_id}",
    response=DeletedOut,
    url_name="v1_response_delete",
    operation_id="deleteResponse",
)
def delete_response(request: HttpRequest, response_id: str) -> dict:
    """Forget a stored response of the caller; another caller's id is 404."""
    owner = caller(request, "responses:write").owner
    services.response_delete(owner=owner, public_id=response_id)
    return {"id": response_id, "object": "response", "deleted": True}


@router.get(
    "/responses/{response_id}/input_items",
    response=ListOut,
    url_name="v1_response_input_items",
    operation_id="listInputItems",
)
def list_input_items(request: HttpRequest, response_id: str, query: Query[PageParams]) -> dict:
    """The items this response was asked with, newest first by default (OpenAI's order)."""
    owner = caller(request, "models:read").owner
    stored = selectors.response_get(owner=owner, public_id=response_id)
    return page_of_items(stored.input_items, query)


def page_of_items(items: list[dict[str, Any]], params: PageParams) -> dict[str, Any]:
    """An OpenAI list page over stored items, with the ``after`` cursor an item id."""
    ordered = list(items) if params.order == "asc" else list(reversed(items))
    if params.after:
        ids = [item.get("id") for item in ordered]
        if params.after not in ids:
            raise InvalidRequest(f"no input item {params.after!r} to list after", param="after")
        ordered = ordered[ids.index(params.after) + 1 :]
    data = ordered[: params.limit]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(ordered) > params.limit,
    }


@router.post(
    "/responses/{response_id}/cancel",
    response=ResponseOut,
    url_name="v1_response_cancel",
    operation_id="cancelResponse",
)
def cancel_response(request: HttpRequest, response_id: str) -> dict:
    """Stop a background response that is still queued or running (its job is cancelled)."""
    who = caller(request, "responses:write")
    return services.response_cancel(owner=who.owner, public_id=response_id, by=who.principal.label)

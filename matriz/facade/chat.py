"""POST /v1/chat/completions: answers and ``chat.completion.chunk`` streams."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import Router

from lukhas_site.errors import ServiceUnavailable
from matriz import services
from matriz.facade import params, stored_chat, structured, tools
from matriz.facade.answer import AnswerRun, PipelineFailed, prepare
from matriz.facade.common import Caller, ListOut, OutModel, acaller, new_id, now
from matriz.facade.schemas import ChatCompletionIn
from matriz.facade.sse import DONE, encode_event, with_heartbeats
from matriz.facade.tokens import count_message_tokens
from matriz.facade.tools import ToolCallDelta

log = logging.getLogger(__name__)
router = Router()


class ChatCompletionOut(OutModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: dict[str, Any]
    lukhas: dict[str, Any] | None = None


def usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


@router.post(
    "/chat/completions",
    response=ChatCompletionOut,
    url_name="v1_chat_completions",
    operation_id="createChatCompletion",
)
async def create_chat_completion(
    request: HttpRequest, payload: ChatCompletionIn, response: HttpResponse
) -> dict | StreamingHttpResponse:
    """OpenAI chat completions over MATRIZ (``lukhas-matriz-1``) or the echo model.

    ``metadata.indexes`` names the caller's memory indexes (names or ids,
    comma-separated) that ``lukhas-matriz-1`` recalls from; the reasoning
    chain comes back in the ``lukhas`` field (in the last chunk of a stream).
    """
    who = await acaller(request, "responses:write")
    messages = [m.model_dump(exclude_none=True) for m in payload.messages]
    options = params.options_for_upstream(payload, params.CHAT_PASSED_ON)
    turn = await sync_to_async(prepare)(
        model=payload.model,
        messages=messages,
        owner=who.owner,
        metadata=payload.metadata,
        max_tokens=payload.output_token_limit,
        options=options,
    )
    turn.principal = who.principal
    upstream = turn.upstream_model is not None
    params.chat_refusals(payload, upstream=upstream)
    offered = tools.chat_tools(payload.tools)
    turn.output_format = structured.chat_format(payload.response_format)
    if not upstream:  # the upstream chooses its own calls; a local model calls when told to
        chosen = tools.forced(offered, payload.tool_choice, turn.query)
        if chosen is not None:
            turn.tool_call = tools.call_of(chosen, turn.query)
        elif turn.output_format is not None:
            structured.check_local(turn.output_format, turn.query)
    dropped = params.ignored(
        payload,
        applied=params.CHAT_APPLIED,
        passed_on=params.CHAT_PASSED_ON if upstream else (),
    )
    run = AnswerRun(turn)
    prompt_tokens = count_message_tokens(messages)
    completion_id = new_id("chatcmpl", sep="-")

    async def keep(body: dict[str, Any]) -> None:
        """``store: true``: keep the answer for GET /v1/chat/completions (OpenAI's stored ones)."""
        if payload.store:
            await sync_to_async(services.chat_completion_store)(
                owner=who.owner, body=body, messages=messages, metadata=payload.metadata
            )

    if payload.stream:
        include_usage = bool(payload.stream_options and payload.stream_options.include_usage)
        body = _stream(
            run, who, completion_id, turn.model, prompt_tokens, include_usage, payload.n or 1, keep
        )
        interval = settings.FACADE_HEARTBEAT_SECONDS
        return StreamingHttpResponse(
            with_heartbeats(body, interval=interval),
            content_type="text/event-stream",
            headers={
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
                **({params.IGNORED_HEADER: ", ".join(dropped)} if dropped else {}),
            },
        )
    if dropped:
        response[params.IGNORED_HEADER] = ", ".join(dropped)
    try:
        text = await run.run()
    except PipelineFailed as exc:
        raise ServiceUnavailable(
            f"MATRIZ could not answer: {exc}", code="pipeline_failed"
        ) from None
    body = completion_object(
        completion_id, now(), turn.model, run, text, payload.n or 1, prompt_tokens
    )
    await keep(body)
    await who.acharge(body["usage"]["total_tokens"])
    return body


def completion_object(
    completion_id: str,
    created: int,
    model: str,
    run: AnswerRun,
    text: str,
    choices: int,
    prompt_tokens: int,
) -> dict[str, Any]:
    """The ``chat.completion`` of a finished answer (what is returned, and stored)."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": None,
        "choices": [
            {
                "index": index,
                "message": message_of(run, text),
                "logprobs": logprobs_of(run.logprobs),
                "finish_reason": run.finish_reason,
            }
            for index in range(choices)
        ],
        "usage": usage(prompt_tokens, run.completion_tokens * choices),
        "lukhas": run.extension,
    }


router.get(
    "/chat/completions",
    response=ListOut,
    url_name="v1_chat_completions_list",
    operation_id="listChatCompletions",
)(stored_chat.list_chat_completions)


def logprobs_of(content: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """A choice's ``logprobs``: the upstream's, passed through; null when none came."""
    return None if content is None else {"content": content, "refusal": None}


def message_of(run: AnswerRun, text: str) -> dict[str, Any]:
    """The assistant message: its text (null when it only calls tools) and its tool calls."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if run.tool_calls:
        message["tool_calls"] = run.tool_calls.all()
        message["content"] = text or None
    return message


async def _stream(
    run: AnswerRun,
    who: Caller,
    completion_id: str,
    model: str,
    prompt_tokens: int,
    include_usage: bool,
    choices: int,
    keep: Callable[[dict[str, Any]], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """Choice 0 streams as it comes; further choices (``n``) replay its deltas after it."""
    created = now()

    def chunk(
        delta: dict[str, Any],
        finish_reason: str | None = None,
        index: int = 0,
        scores: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> bytes:
        choice = {
            "index": index,
            "delta": delta,
            "logprobs": logprobs_of(scores),
            "finish_reason": finish_reason,
        }
        return encode_event(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [choice],
                **extra,
            }
        )

    def delta_of(piece: str | ToolCallDelta) -> dict[str, Any]:
        if isinstance(piece, ToolCallDelta):
            return {"tool_calls": [piece.to_chat()]}
        return {"content": piece}

    pieces: list[str | ToolCallDelta] = []
    yield chunk({"role": "assistant", "content": ""})
    try:
        async for piece in run.deltas():
            if choices > 1:
                pieces.append(piece)
            yield chunk(delta_of(piece), scores=getattr(piece, "logprobs", None))
    except Exception as exc:  # the stream has begun: report in-band, never a 500
        log.warning("chat stream %s failed: %s", completion_id, exc, exc_info=True)
        yield encode_event(
            {
                "error": {
                    "message": f"MATRIZ could not answer: {exc}",
                    "type": "server_error",
                    "param": None,
                    "code": "pipeline_failed",
                }
            }
        )
        await who.acharge(prompt_tokens + run.completion_tokens)
        return
    for index in range(1, choices):
        yield chunk({"role": "assistant", "content": ""}, index=index)
        for piece in pieces:
            yield chunk(delta_of(piece), index=index)
        yield chunk({}, run.finish_reason, index=index)
    yield chunk({}, run.finish_reason, lukhas=run.extension)
    completion_tokens = run.completion_tokens * choices
    await keep(
        completion_object(completion_id, created, model, run, run.text, choices, prompt_tokens)
    )
    if include_usage:
        yield encode_event(
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [],
                "usage": usage(prompt_tokens, completion_tokens),
            }
        )
    yield DONE
    await who.acharge(prompt_tokens + completion_tokens)

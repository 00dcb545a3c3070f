"""Request and response shapes of the /v1 façade, as OpenAI defines them.

Requests are validated strictly (ranges, enums, unknown fields refused) so
a client learns at once which parameter to fix; the error handler of the
``/v1`` root turns a validation failure into a 400 ``invalid_request_error``
whose ``param`` names the field, as OpenAI answers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_INPUT_CHARS = 1_000_000  # ~250k tokens: beyond that a request is a mistake or an attack
MAX_BATCH = 2048  # OpenAI's limit on embeddings inputs per request

Metadata = Annotated[
    dict[str, Annotated[str, Field(max_length=512)]],
    Field(max_length=16, description="Up to 16 string pairs, values up to 512 characters."),
]


class StrictModel(BaseModel):
    """Unknown parameters are refused by name, as OpenAI does."""

    model_config = ConfigDict(extra="forbid")


class OpenModel(BaseModel):
    """Shapes we pass on (tools, message parts): keep what the client sent."""

    model_config = ConfigDict(extra="allow")


# --- chat completions ------------------------------------------------------


def _chars(content: object) -> int:
    """Characters of a message's content: a string, or the text of its parts."""
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content)
    total = 0
    for part in content if isinstance(content, list) else [content]:
        text = part.get("text") if isinstance(part, dict) else getattr(part, "text", None)
        if isinstance(text, str):
            total += len(text)
    return total


class ContentPart(OpenModel):
    type: str
    text: str | None = None


class ChatMessage(OpenModel):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Annotated[str, Field(max_length=MAX_INPUT_CHARS)] | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=64)
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    @model_validator(mode="after")
    def _content_where_required(self) -> ChatMessage:
        if self.role in {"system", "developer", "user", "tool"} and self.content is None:
            raise ValueError(f"a {self.role} message needs content")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        return self


class StreamOptions(StrictModel):
    include_usage: bool = False
    include_obfuscation: bool | None = None


class ChatCompletionIn(StrictModel):
    model: str = Field(min_length=1, max_length=256)
    messages: list[ChatMessage] = Field(min_length=1, max_length=2048)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(
        default=None,
        ge=1,
        le=128,
        description="Choices to produce: local models answer deterministically, so each is the "
        "same answer; through the upstream, only 1.",
    )
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, int] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    seed: int | None = None
    user: str | None = Field(default=None, max_length=256)
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    metadata: Metadata | None = None
    store: bool | None = None
    service_tier: str | None = None
    reasoning_effort: str | None = None
    modalities: list[str] | None = None
    # Newer parameters of OpenAI's schema: known, so an upgraded SDK is not
    # refused; matriz.facade.params says what each one does here.
    prediction: dict[str, Any] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    safety_identifier: str | None = Field(default=None, max_length=256)
    prompt_cache_key: str | None = Field(default=None, max_length=256)
    prompt_cache_retention: str | None = None
    web_search_options: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    function_call: str | dict[str, Any] | None = None

    @field_validator("messages")
    @classmethod
    def _conversation_within_the_input_limit(cls, value: list[ChatMessage]) -> list[ChatMessage]:
        # Each message may hold MAX_INPUT_CHARS, but the request as a whole
        # may not either: the HTTP body limit (LUKHAS_MAX_BODY_BYTES) is sized
        # for this total, so every request these limits accept fits through it.
        total = sum(_chars(message.content) for message in value)
        if total > MAX_INPUT_CHARS:
            raise ValueError(
                f"the conversation holds {total:,} characters; "
                f"at most {MAX_INPUT_CHARS:,} in one request"
            )
        return value

    @field_validator("stop")
    @classmethod
    def _at_most_four_stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @field_validator("tools")
    @classmethod
    def _tools_are_functions(cls, value: list[dict] | None) -> list[dict] | None:
        for tool in value or []:
            if tool.get("type") not in {"function", "custom"}:
                raise ValueError("each tool needs type 'function' (or 'custom')")
            if tool.get("type") == "function" and not (tool.get("function") or {}).get("name"):
                raise ValueError("a function tool needs function.name")
        return value

    @property
    def output_token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


# --- responses -------------------------------------------------------------


class ResponseInputItem(OpenModel):
    type: str | None = "message"
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: Annotated[str, Field(max_length=MAX_INPUT_CHARS)] | list[dict[str, Any]] | None = None


class ResponseCreateIn(StrictModel):
    model: str = Field(min_length=1, max_length=256)
    input: Annotated[str, Field(max_length=MAX_INPUT_CHARS)] | list[ResponseInputItem] | None = None
    instructions: str | None = Field(default=None, max_length=MAX_INPUT_CHARS)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    metadata: Metadata | None = None
    max_output_tokens: int | None = Field(default=None, ge=16)
    previous_response_id: str | None = Field(default=None, max_length=128)
    store: bool = True
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    tools: list[dict[str, Any]] | None = Field(default=None, max_length=128)
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: dict[str, Any] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = Field(default=None, max_length=256)
    reasoning: dict[str, Any] | None = None
    include: list[str] | None = None
    background: bool | None = None
    service_tier: str | None = None
    safety_identifier: str | None = Field(default=None, max_length=256)
    prompt_cache_key: str | None = Field(default=None, max_length=256)
    prompt_cache_retention: str | None = None
    prompt: dict[str, Any] | None = None
    conversation: str | dict[str, Any] | None = None
    max_tool_calls: int | None = Field(default=None, ge=1)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

    @model_validator(mode="after")
    def _needs_input(self) -> ResponseCreateIn:
        if self.input is None and not self.previous_response_id:
            raise ValueError("input is required (a string or a list of message items)")
        items = self.input if isinstance(self.input, list) else [self.input]
        total = _chars(self.instructions) + sum(
            _chars(item.content if isinstance(item, ResponseInputItem) else item) for item in items
        )
        if total > MAX_INPUT_CHARS:
            # Same total as chat: the body limit is sized for it.
            raise ValueError(
                f"input and instructions hold {total:,} characters; "
                f"at most {MAX_INPUT_CHARS:,} in one request"
            )
        return self


# --- embeddings ------------------------------------------------------------


class EmbeddingsIn(StrictModel):
    model: str = Field(min_length=1, max_length=256)
    input: (
        Annotated[str, Field(min_length=1, max_length=MAX_INPUT_CHARS)]
        | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
        | Annotated[list[int], Field(min_length=1)]
        | Annotated[list[list[int]], Field(min_length=1)]
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1, le=4096)
    user: str | None = Field(default=None, max_length=256)

    @field_validator("input")
    @classmethod
    def _batch_size(cls, value: object) -> object:
        if isinstance(value, list) and len(value) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} inputs per request")
        return value

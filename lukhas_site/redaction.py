"""Remove secrets from text before it reaches a log line, an error body or a span.

One list of patterns, used by the logging filter and by anything else that
echoes user-controlled text. Each pattern keeps the name of what it hid
(``Authorization: [REDACTED]``) so a reader still knows what was there.
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization / Proxy-Authorization / Cookie / Set-Cookie headers, in
    # "Name: value" form and in the dict reprs of header mappings.
    (
        re.compile(
            r"(?i)(['\"]?(?:proxy-)?authorization['\"]?\s*[:=]\s*['\"]?)([^'\"\r\n,}]+)",
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(r"(?i)(['\"]?(?:set-)?cookie['\"]?\s*[:=]\s*['\"]?)([^'\"\r\n}]+)"),
        r"\1" + REDACTED,
    ),
    (
        re.compile(
            r"(?i)(['\"]?HTTP_(?:AUTHORIZATION|COOKIE)['\"]?\s*[:=]\s*['\"]?)([^'\"\r\n,}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # Bare bearer tokens anywhere.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    # API-key-shaped strings: our own lk- keys, OpenAI-style sk-, GitHub tokens,
    # AWS access key ids, Slack tokens.
    (re.compile(r"\blk-[A-Za-z0-9_-]{8,}"), "lk-" + REDACTED),
    (re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{16,}"), "sk-" + REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), REDACTED),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bxox[abpors]-[A-Za-z0-9-]{10,}"), REDACTED),
    # password / secret / token / api_key = value (key=value, "key": "value").
    (
        re.compile(
            r"(?i)(['\"]?\b(?:password|passwd|pwd|secret|client_secret|api[_-]?key|"
            r"access[_-]?token|refresh[_-]?token|token|signature)['\"]?\s*[:=]\s*['\"]?)"
            r"([^'\"\s&,;}]+)"
        ),
        r"\1" + REDACTED,
    ),
    # Credentials inside URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)"), r"\1" + REDACTED + r"\3"),
]

# Keys whose value is a secret whatever it looks like.
_SENSITIVE_KEYS = re.compile(
    r"(?i)^(?:http_)?(?:proxy-)?(?:authorization|cookie|set-cookie|password|passwd|secret|"
    r"client_secret|api[_-]?key|x-api-key|token|access_token|refresh_token)$"
)

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")


def redact(text: str, *, emails: bool = False) -> str:
    """Return ``text`` with every secret we know the shape of replaced."""
    if not text:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    if emails:
        text = _EMAIL.sub(REDACTED, text)
    return text


def redact_value(value: object, *, emails: bool = False) -> object:
    """Redact strings inside plain containers; other objects become their redacted str."""
    if isinstance(value, str):
        return redact(value, emails=emails)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {
            k: REDACTED
            if isinstance(k, str) and _SENSITIVE_KEYS.match(k)
            else redact_value(v, emails=emails)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(v, emails=emails) for v in value]
    return redact(str(value), emails=emails)

"""The load profile: how much synthetic load, of which kinds, for how long.

Pure (no Django): the management command, the services and the tests parse the
same file. Every error is a ``ProfileError`` naming the file and the key.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The kinds of request the locustfile knows, in its task order.
KINDS = ("chat", "chat_stream", "responses", "embeddings", "models", "index_query")
MAX_DURATION_SECONDS = 7 * 24 * 3600  # a soak is 48-72 h; a week bounds a typo
KNOWN_KEYS = {
    "version",
    "rps",
    "users",
    "spawn_rate",
    "duration",
    "max_requests",
    "request_timeout",
    "mix",
    "chat_model",
    "embed_model",
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class ProfileError(ValueError):
    """A load profile that cannot run; the message names the key."""


@dataclass(frozen=True)
class LoadProfile:
    rps: float = 5.0
    users: int = 5
    spawn_rate: float = 5.0
    duration_seconds: int = 60
    max_requests: int = 0
    request_timeout: float = 30.0
    mix: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 1))
    chat_model: str = "matriz-echo"
    embed_model: str = "lukhas-embed-1"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        """What the locust process reads (the file named by LUKHAS_SOAK_LOAD_PROFILE_FILE)."""
        return json.dumps(self.as_dict(), sort_keys=True)

    def with_overrides(
        self, *, rps: float | None = None, duration_seconds: int | None = None
    ) -> LoadProfile:
        """The same profile with the command line's RPS / DURATION, re-validated."""
        data = self.as_dict()
        data["duration"] = data.pop("duration_seconds")
        if rps is not None:
            data["rps"] = rps
        if duration_seconds is not None:
            data["duration"] = duration_seconds
        return parse_profile(data, source="overrides")


def parse_duration(value: Any, *, key: str = "duration", source: str = "profile") -> int:
    """Seconds from 60, "60", "90s", "15m", "48h" or "2d"; at least 1, at most a week."""
    expected = f"{source}: {key}: expected seconds or '90s'/'15m'/'48h', got {value!r}"
    if isinstance(value, bool):
        raise ProfileError(expected)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ProfileError(expected)
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    if not 1 <= seconds <= MAX_DURATION_SECONDS:
        raise ProfileError(
            f"{source}: {key}: must be between 1 s and {MAX_DURATION_SECONDS} s, got {value!r}"
        )
    return int(seconds)


def _number(data: dict, key: str, default: float, source: str, *, integer: bool = False) -> Any:
    value = data.get(key, default)
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(f"{source}: {key}: must be {kind}, got {value!r}")
    if integer and value != int(value):
        raise ProfileError(f"{source}: {key}: must be {kind}, got {value!r}")
    return int(value) if integer else float(value)


def _text(data: dict, key: str, default: str, source: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{source}: {key}: must be a non-empty string, got {value!r}")
    return value.strip()


def _mix(raw: Any, source: str) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: mix: expected a mapping of kind: weight")
    for kind, weight in raw.items():
        if kind not in KINDS:
            raise ProfileError(f"{source}: mix.{kind}: unknown kind (known: {', '.join(KINDS)})")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise ProfileError(f"{source}: mix.{kind}: must be an integer >= 0, got {weight!r}")
    mix = {kind: int(raw.get(kind, 0)) for kind in KINDS}
    if not any(mix.values()):
        raise ProfileError(f"{source}: mix: at least one kind needs a weight > 0")
    return mix


def parse_profile(data: Any, *, source: str = "profile") -> LoadProfile:
    """A validated profile from parsed YAML; missing keys take the defaults."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProfileError(f"{source}: expected a mapping of keys, got {type(data).__name__}")
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise ProfileError(
            f"{source}: {unknown[0]}: unknown key (known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    version = data.get("version", 1)
    if version != 1:
        raise ProfileError(f"{source}: version: only version 1 is known, got {version!r}")
    rps = _number(data, "rps", 5.0, source)
    if not 0 < rps <= 10_000:
        raise ProfileError(f"{source}: rps: must be > 0 and <= 10000, got {rps:g}")
    users = _number(data, "users", 5, source, integer=True)
    if not 1 <= users <= 10_000:
        raise ProfileError(f"{source}: users: must be between 1 and 10000, got {users}")
    spawn_rate = _number(data, "spawn_rate", float(users), source)
    if spawn_rate <= 0:
        raise ProfileError(f"{source}: spawn_rate: must be > 0, got {spawn_rate:g}")
    duration = parse_duration(data.get("duration", 60), source=source)
    max_requests = _number(data, "max_requests", 0, source, integer=True)
    if max_requests < 0:
        raise ProfileError(
            f"{source}: max_requests: must be >= 0 (0 = no bound), got {max_requests}"
        )
    timeout = _number(data, "request_timeout", 30.0, source)
    if not 0 < timeout <= 600:
        raise ProfileError(f"{source}: request_timeout: must be > 0 and <= 600, got {timeout:g}")
    return LoadProfile(
        rps=rps,
        users=users,
        spawn_rate=spawn_rate,
        duration_seconds=duration,
        max_requests=max_requests,
        request_timeout=timeout,
        mix=_mix(data.get("mix", dict.fromkeys(KINDS, 1)), source),
        chat_model=_text(data, "chat_model", "matriz-echo", source),
        embed_model=_text(data, "embed_model", "lukhas-embed-1", source),
    )


def load_profile(path: str | Path) -> LoadProfile:
    """Read and validate a profile file; a missing file or bad YAML is a ProfileError."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the load profile ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ProfileError(f"{path}:{where} invalid YAML ({exc})") from None
    return parse_profile(data, source=str(path))

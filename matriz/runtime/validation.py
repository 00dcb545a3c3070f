"""Checks of a query's arguments, shared with the services: a 400 before anything runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings

from lukhas_site.errors import InvalidRequest
from matriz.models import MemoryIndexModel

FILTER_OPERATORS = frozenset({"$eq", "$ne", "$in", "$nin"})
MAX_TOP_K = 100
MAX_DEADLINE_MS = 60_000


def validate_filters(filters: Any, *, param: str = "filters") -> dict[str, Any] | None:
    """The engine's metadata filters checked up front: a 400, not a degraded answer."""
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise InvalidRequest(
            'filters must be an object such as {"team": "release", "env": {"$in": ["prod"]}}',
            param=param,
        )
    for key, condition in filters.items():
        if not isinstance(key, str) or not key:
            raise InvalidRequest("filter keys are non-empty strings", param=param)
        if isinstance(condition, Mapping):
            unknown = sorted(set(condition) - FILTER_OPERATORS)
            if unknown or not condition:
                raise InvalidRequest(
                    f"{param}.{key}: unknown operator(s) {', '.join(map(str, unknown)) or '(none)'}"
                    f"; use {', '.join(sorted(FILTER_OPERATORS))}",
                    param=f"{param}.{key}",
                )
            for op in ("$in", "$nin"):
                if op in condition and not isinstance(condition[op], list | tuple):
                    raise InvalidRequest(
                        f"{param}.{key}.{op} needs a list of values", param=f"{param}.{key}"
                    )
    return dict(filters)


def check_text(text: Any, *, param: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest(f"{param} must be a non-empty string", param=param)
    limit = settings.MATRIZ_MAX_TEXT_CHARS
    if len(text) > limit:
        raise InvalidRequest(
            f"{param} has {len(text)} characters; the limit is {limit} "
            "(LUKHAS_MATRIZ_MAX_TEXT_CHARS)",
            param=param,
        )
    return text


def check_top_k(top_k: Any, *, limit: int = MAX_TOP_K) -> int:
    if top_k is None:
        return min(settings.MATRIZ_TOP_K, limit)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= limit:
        raise InvalidRequest(f"top_k must be an integer from 1 to {limit}", param="top_k")
    return top_k


def check_deadline_ms(deadline_ms: Any) -> float | None:
    """Seconds, from a deadline in milliseconds (None: the pipeline's own deadline)."""
    if deadline_ms is None:
        return None
    if (
        isinstance(deadline_ms, bool)
        or not isinstance(deadline_ms, int | float)
        or not 0 < deadline_ms <= MAX_DEADLINE_MS
    ):
        raise InvalidRequest(
            f"deadline_ms must be a number of milliseconds in (0, {MAX_DEADLINE_MS}]",
            param="deadline_ms",
        )
    return deadline_ms / 1000.0


def index_names(indexes: Sequence[Any]) -> list[str]:
    """Index names from names or models, de-duplicated in order; at least one."""
    if isinstance(indexes, str) or not isinstance(indexes, Sequence) or not indexes:
        raise InvalidRequest("indexes must name at least one memory index", param="indexes")
    names: list[str] = []
    for entry in indexes:
        name = entry.name if isinstance(entry, MemoryIndexModel) else entry
        if not isinstance(name, str) or not name:
            raise InvalidRequest("indexes are given by name", param="indexes")
        if name not in names:
            names.append(name)
    return names

"""What every MATRIZ service checks and locks the same way."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction

from lukhas_site.errors import InvalidRequest, NotFound, ServiceUnavailable
from matriz import metrics
from matriz.models import MemoryIndexModel

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
OWNER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}")
ITEM_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# Written by folding; a caller setting them would forge the fold history.
RESERVED_METADATA_KEYS = frozenset({"folded_ids", "folded_texts"})
MAX_METADATA_BYTES = 16_384
# Rows per bulk statement (and per IN list: SQLite caps the parameters of one).
BULK = 500


def check_owner(owner: Any) -> str:
    if not isinstance(owner, str) or not OWNER_PATTERN.fullmatch(owner):
        raise InvalidRequest(
            f"owner {owner!r} is not a valid key: 1-100 letters, digits and . _ : @ -",
            param="owner",
        )
    return owner


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidRequest(
            f"index name {name!r} is not valid: 1-64 lower-case letters, digits and . _ - "
            "starting with a letter or digit",
            param="name",
        )
    return name


def check_metadata(metadata: Any, *, param: str) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(isinstance(k, str) for k in metadata):
        raise InvalidRequest(f"{param} must be an object with string keys", param=param)
    reserved = sorted(RESERVED_METADATA_KEYS & set(metadata))
    if reserved:
        raise InvalidRequest(
            f"{param} may not set {', '.join(reserved)}: folding writes those keys",
            param=param,
        )
    try:
        size = len(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"{param} is not plain JSON: {exc}", param=param) from None
    if size > MAX_METADATA_BYTES:
        raise InvalidRequest(
            f"{param} is {size} bytes of JSON; the limit is {MAX_METADATA_BYTES}", param=param
        )
    return dict(metadata)


def lock_index(pk: int) -> MemoryIndexModel:
    """The index row, locked for this transaction: writers of one index go one at a time."""
    try:
        return MemoryIndexModel.objects.select_for_update().get(pk=pk)
    except MemoryIndexModel.DoesNotExist:
        raise NotFound(
            "this memory index was deleted meanwhile", code="index_not_found", param="index"
        ) from None


def after_commit_counts(index: MemoryIndexModel) -> None:
    key, count = index.key, index.item_count
    transaction.on_commit(lambda: metrics.STORED_ITEMS.labels(index=key).set(count))


def broker_refused(what: str, poll: str) -> Callable[[Exception], None]:
    """``on_unsent`` for job_start: the rows stay queued, the request gets a 503 saying so."""

    def refuse(exc: Exception) -> None:
        bound = settings.JOBS_STALE_SECONDS + settings.JOBS_SWEEP_SECONDS
        raise ServiceUnavailable(
            f"The {what} was saved but could not be queued: the task broker is unreachable. "
            f"It will be queued automatically once the broker is back; poll {poll}.",
            code="broker_unavailable",
            headers={"Retry-After": str(max(1, int(bound)))},
        ) from exc

    return refuse

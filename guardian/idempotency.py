"""Idempotency-Key for POSTs, with Stripe's semantics and the IETF draft's errors.

- The first request with a key runs and its response (status, headers, body —
  a stream is recorded whole) is kept for ``LUKHAS_IDEMPOTENCY_TTL_SECONDS``.
- The same key with the same request again gets that response replayed,
  with ``Idempotent-Replayed: true``; the operation does not run twice.
- The same key with a different request (method, path, query or body) is
  refused with 422; while the first is still running, 409.
- Refusals that happen before the operation does anything (400, 401, 403,
  409, 413, 415, 422, 429…) are not kept: the key is released so a
  corrected request may use it. Server errors are kept, as Stripe does.

Keys are scoped per API key (per user for a dashboard session). With Redis
the records live there (they survive an app restart and are shared by every
machine); without it, in the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone

from guardian import redis_client
from guardian.models import IdempotencyRecord, IdempotencyState
from guardian.redis_client import REDIS_DOWN_ERRORS, BackendUnavailable

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255

# Statuses where the operation refused before doing anything: not kept.
NOT_STORED = frozenset({400, 401, 403, 405, 406, 408, 409, 411, 413, 414, 415, 422, 428, 429})
# Headers that describe this exchange, not the operation's answer.
_VOLATILE = (
    "x-request-id", "x-trace-id", "traceresponse", "set-cookie", "idempotent-replayed",
    "x-ratelimit-", "ratelimit", "retry-after", "content-length", "date", "vary",
)  # fmt: skip


class Claim:
    NEW = "new"
    REPLAY = "replay"
    CONFLICT = "conflict"
    IN_FLIGHT = "in_flight"


@dataclass(slots=True)
class StoredResponse:
    status: int
    headers: list[list[str]]
    body: bytes

    def to_response(self) -> HttpResponse:
        response = HttpResponse(self.body, status=self.status)
        for name, value in self.headers:
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response


@dataclass(slots=True)
class Begun:
    claim: str
    scope: str
    key_hash: str
    fingerprint: str
    owner: str
    stored: StoredResponse | None = None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(request.body)
    return digest.hexdigest()


def storable_headers(response: HttpResponseBase) -> list[list[str]]:
    return [
        [name, value] for name, value in response.items() if not name.lower().startswith(_VOLATILE)
    ]


def should_store(status: int) -> bool:
    return status not in NOT_STORED


# --- Redis store ---------------------------------------------------------------

# KEYS[1] the record; ARGV: fingerprint, owner, lock ms.
# New key: the record is created in_flight (expiring with the lock, so a
# crashed process does not hold it forever). Else: the record as it is.
_LUA_BEGIN = """
local found = redis.call('HGETALL', KEYS[1])
if #found == 0 then
  redis.call('HSET', KEYS[1], 'state', 'in_flight', 'fp', ARGV[1], 'owner', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {}
end
return found
"""
# KEYS[1]; ARGV: owner, ttl ms, status, headers json, body. Only the holder completes.
_LUA_COMPLETE = """
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[3], 'headers', ARGV[4], 'body', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
_LUA_RELEASE = """
local found = redis.call('HMGET', KEYS[1], 'owner', 'state')
if found[1] == ARGV[1] and found[2] == 'in_flight' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_scripts: dict[str, Any] = {}


def _run(name: str, source: str, keys: list[str], args: list[Any], operation: str) -> Any:
    redis_client.ensure_up()
    client = redis_client.client()
    script = _scripts.get(name)
    if script is None:
        script = _scripts[name] = client.register_script(source)
    try:
        # The client is passed on each call: settings (tests) may switch servers.
        result = script(keys=keys, args=args, client=client)
    except REDIS_DOWN_ERRORS as exc:
        redis_client.mark_down(exc, operation)
        raise BackendUnavailable(str(exc)) from exc
    redis_client.mark_up()
    return result


def _redis_key(scope: str, key_hash: str) -> str:
    return redis_client.key("{" + scope + "}", "idem", key_hash)


def _redis_begin(begun: Begun) -> None:
    lock_ms = settings.GUARDIAN_IDEMPOTENCY_LOCK_SECONDS * 1000
    found = _run(
        "begin",
        _LUA_BEGIN,
        [_redis_key(begun.scope, begun.key_hash)],
        [begun.fingerprint, begun.owner, lock_ms],
        "idempotency",
    )
    if not found:
        begun.claim = Claim.NEW
        return
    record = {found[i].decode(): found[i + 1] for i in range(0, len(found), 2)}
    if record.get("fp", b"").decode() != begun.fingerprint:
        begun.claim = Claim.CONFLICT
    elif record.get("state") == b"done":
        begun.claim = Claim.REPLAY
        begun.stored = StoredResponse(
            status=int(record["status"]),
            headers=json.loads(record["headers"]),
            body=record.get("body", b""),
        )
    else:
        begun.claim = Claim.IN_FLIGHT


def _redis_complete(begun: Begun, stored: StoredResponse) -> None:
    _run(
        "complete",
        _LUA_COMPLETE,
        [_redis_key(begun.scope, begun.key_hash)],
        [
            begun.owner,
            settings.GUARDIAN_IDEMPOTENCY_TTL_SECONDS * 1000,
            stored.status,
            json.dumps(stored.headers),
            stored.body,
        ],
        "idempotency",
    )


def _redis_release(begun: Begun) -> None:
    _run(
        "release",
        _LUA_RELEASE,
        [_redis_key(begun.scope, begun.key_hash)],
        [begun.owner],
        "idempotency",
    )


# --- database store (embedded mode) --------------------------------------------------


def _db_begin(begun: Begun) -> None:
    now = timezone.now()
    lock_until = now + timedelta(seconds=settings.GUARDIAN_IDEMPOTENCY_LOCK_SECONDS)
    fresh = {
        "fingerprint": begun.fingerprint,
        "state": IdempotencyState.IN_FLIGHT,
        "owner": begun.owner,
        "lock_expires_at": lock_until,
        "expires_at": lock_until,
        "status": None,
        "headers": [],
        "body": None,
        "created_at": now,
    }
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(scope=begun.scope, key_hash=begun.key_hash, **fresh)
        begun.claim = Claim.NEW
        return
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(scope=begun.scope, key_hash=begun.key_hash).first()
    if record is None:  # deleted between our insert and this read: try once more
        return _db_begin(begun)
    stale = record.expires_at <= now or (
        record.state == IdempotencyState.IN_FLIGHT and record.lock_expires_at <= now
    )
    if stale:
        # Take the expired record over; the owner condition makes two takers race safely.
        taken = IdempotencyRecord.objects.filter(pk=record.pk, owner=record.owner).update(**fresh)
        begun.claim = Claim.NEW if taken == 1 else Claim.IN_FLIGHT
        return None
    if record.fingerprint != begun.fingerprint:
        begun.claim = Claim.CONFLICT
    elif record.state == IdempotencyState.DONE:
        begun.claim = Claim.REPLAY
        begun.stored = StoredResponse(record.status, record.headers, bytes(record.body or b""))
    else:
        begun.claim = Claim.IN_FLIGHT
    return None


def _db_complete(begun: Begun, stored: StoredResponse) -> None:
    IdempotencyRecord.objects.filter(
        scope=begun.scope, key_hash=begun.key_hash, owner=begun.owner
    ).update(
        state=IdempotencyState.DONE,
        status=stored.status,
        headers=stored.headers,
        body=stored.body,
        expires_at=timezone.now() + timedelta(seconds=settings.GUARDIAN_IDEMPOTENCY_TTL_SECONDS),
    )


def _db_release(begun: Begun) -> None:
    IdempotencyRecord.objects.filter(
        scope=begun.scope,
        key_hash=begun.key_hash,
        owner=begun.owner,
        state=IdempotencyState.IN_FLIGHT,
    ).delete()


# --- the operations the middleware uses ----------------------------------------------


def begin(*, scope: str, key: str, request: HttpRequest) -> Begun:
    """Claim ``key`` for this request, or say why not. Raises BackendUnavailable."""
    begun = Begun(
        claim=Claim.NEW,
        scope=scope,
        key_hash=hash_key(key),
        fingerprint=fingerprint(request),
        owner=secrets.token_hex(8),
    )
    try:
        if redis_client.enabled():
            _redis_begin(begun)
        else:
            _db_begin(begun)
    except DatabaseError as exc:
        raise BackendUnavailable(str(exc)) from exc
    return begun


def complete(begun: Begun, stored: StoredResponse) -> None:
    """Keep the response of a claimed key (errors are logged: the answer already exists)."""
    try:
        if redis_client.enabled():
            _redis_complete(begun, stored)
        else:
            _db_complete(begun, stored)
    except (BackendUnavailable, DatabaseError) as exc:
        logger.warning("guardian: could not store an idempotent response: %s", exc)


def release(begun: Begun) -> None:
    """Free a claimed key whose request was refused (or whose stream broke off)."""
    try:
        if redis_client.enabled():
            _redis_release(begun)
        else:
            _db_release(begun)
    except (BackendUnavailable, DatabaseError) as exc:
        logger.warning("guardian: could not release an idempotency key: %s", exc)

"""Guardian's writes: issuing and revoking keys, tenants, audit rows, switches, purges.

The plaintext of a key exists only in the return value of ``api_key_issue``
/ ``api_key_create``; what is saved is its HMAC.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from guardian import keys, metrics, pdp, selectors
from guardian.models import (
    ALL_SCOPES,
    APIKey,
    Denial,
    DenialKind,
    IdempotencyRecord,
    PolicyOverride,
    RateBucket,
    Tenant,
)
from lukhas_site.errors import InvalidRequest, NotFound

logger = logging.getLogger(__name__)

DEFAULT_TENANT = "default"


# --- tenants and keys ---------------------------------------------------------


def tenant_ensure(*, slug: str, name: str | None = None) -> Tenant:
    """The tenant with this slug, created (active, no shared limits) if missing."""
    slug = slugify(slug)
    if not slug:
        raise InvalidRequest("A tenant needs a slug of letters, digits and dashes.", param="tenant")
    tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return tenant


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    cleaned = sorted({s.strip() for s in scopes if s and s.strip()})
    unknown = set(cleaned) - ALL_SCOPES
    if unknown:
        raise InvalidRequest(
            f"Unknown scope(s): {', '.join(sorted(unknown))}. "
            f"Known: {', '.join(sorted(ALL_SCOPES))}.",
            param="scopes",
        )
    return cleaned


@transaction.atomic
def api_key_issue(*, key: APIKey, by: Any = None, plaintext: str | None = None) -> str:
    """Give an unsaved APIKey its secret, save it, and return the plaintext (shown once).

    ``plaintext`` lets the golden token kit mint deterministic keys; it must
    have the shape of a generated one.
    """
    if key.pk is not None:
        raise InvalidRequest("This key is already issued; create a new one instead.")
    if plaintext is None:
        parsed = keys.generate_key()
    else:
        parsed = keys.parse_key(plaintext)
        if parsed is None:
            raise InvalidRequest("A supplied key must look like lk-<12 chars>_<secret>.")
    key.public_id = parsed.public_id
    key.key_hash = keys.hash_key(parsed.plaintext)
    key.scopes = _clean_scopes(key.scopes or [])
    if by is not None and getattr(by, "is_authenticated", False):
        key.created_by = by
    try:
        key.full_clean(exclude=["public_id", "key_hash", "tenant"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidRequest(f"{field}: {' '.join(messages)}", param=field) from None
    key.save()
    logger.info("API key %s (%s) issued for tenant %s", key.pk, key.name, key.tenant.slug)
    return parsed.plaintext


def api_key_create(
    *,
    name: str,
    scopes: Iterable[str],
    tenant: Tenant | str | None = None,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
    daily_token_quota: int | None = None,
    expires_at: datetime | None = None,
    by: Any = None,
    plaintext: str | None = None,
) -> tuple[str, APIKey]:
    """Create a key; returns ``(plaintext, key)``. The plaintext is never stored."""
    if not isinstance(tenant, Tenant):
        tenant = tenant_ensure(slug=tenant or DEFAULT_TENANT)
    key = APIKey(
        name=name,
        tenant=tenant,
        scopes=list(scopes),
        requests_per_minute=requests_per_minute or settings.GUARDIAN_DEFAULT_RPM,
        tokens_per_minute=tokens_per_minute or settings.GUARDIAN_DEFAULT_TPM,
        daily_token_quota=daily_token_quota or settings.GUARDIAN_DEFAULT_DAILY_QUOTA,
        expires_at=expires_at,
    )
    plaintext = api_key_issue(key=key, by=by, plaintext=plaintext)
    return plaintext, key


_EDITABLE_KEY_FIELDS = frozenset(
    {"name", "tenant", "scopes", "requests_per_minute", "tokens_per_minute", "daily_token_quota",
     "expires_at"}
)  # fmt: skip


@transaction.atomic
def api_key_update(*, key: APIKey, fields: Iterable[str]) -> APIKey:
    """Save edits of a key's name, tenant, scopes, limits or expiry (never its secret)."""
    changed = [f for f in fields if f in _EDITABLE_KEY_FIELDS]
    if not changed:
        return key
    key.scopes = _clean_scopes(key.scopes or [])
    try:
        key.full_clean(exclude=["public_id", "key_hash"])
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidRequest(f"{field}: {' '.join(messages)}", param=field) from None
    key.save(update_fields=[*changed, "updated_at"])
    selectors.forget_key(key)
    return key


def tenant_save(*, tenant: Tenant) -> Tenant:
    """Create or edit a tenant; its keys pick up the change within the key cache's lifetime."""
    tenant.slug = slugify(tenant.slug)
    try:
        tenant.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidRequest(f"{field}: {' '.join(messages)}", param=field) from None
    tenant.save()
    selectors.forget_all_keys()
    return tenant


def api_key_revoke(*, key: APIKey, by: Any = None) -> bool:
    """Revoke a key (idempotent); True if this call revoked it."""
    now = timezone.now()
    changed = (
        APIKey.objects.filter(pk=key.pk, revoked=False).update(
            revoked=True, revoked_at=now, updated_at=now
        )
        == 1
    )
    key.refresh_from_db(fields=["revoked", "revoked_at", "updated_at"])
    selectors.forget_key(key)
    if changed:
        who = getattr(by, "username", None) or "a command"
        logger.info("API key %s (%s) revoked by %s", key.pk, key.name, who)
    return changed


def api_key_find_for_revocation(
    *, prefix: str | None = None, name: str | None = None
) -> list[APIKey]:
    """The live keys a ``revoke_api_key`` argument names: by prefix (lk-…) or exact name."""
    qs = APIKey.objects.select_related("tenant").filter(revoked=False)
    if prefix:
        public_id = prefix.removeprefix("lk-").split("_", 1)[0]
        found = list(qs.filter(public_id=public_id))
    elif name:
        found = list(qs.filter(name=name))
    else:
        raise InvalidRequest("Name the key by --prefix or --name.")
    if not found:
        raise NotFound(f"No live API key with {'prefix ' + prefix if prefix else 'name ' + name}.")
    return found


_last_touch: dict[int, float] = {}
# Intervals, not dates: a monotonic clock (tests replace it to move time on).
clock = time.monotonic


def api_key_touch(*, key: APIKey) -> None:
    """Record that a key was used — at most once a minute per key and process.

    A single conditional UPDATE, so processes racing to touch the same key do
    not write it more than once per interval between them either.
    """
    interval = settings.GUARDIAN_LAST_USED_INTERVAL_SECONDS
    now_mono = clock()
    if now_mono - _last_touch.get(key.pk, -1e9) < interval:
        return
    _last_touch[key.pk] = now_mono
    if _in_async_context():
        return  # the next sync request will touch it
    now = timezone.now()
    stale = now - timedelta(seconds=interval)
    APIKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=key.pk
    ).update(last_used_at=now)
    key.last_used_at = now


# --- the denial audit -----------------------------------------------------------

_audit_window = [0.0, 0]  # [second, rows written in it] per process
_audit_lock = threading.Lock()


def _in_async_context() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _audit_admitted(sample_rate: float) -> bool:
    if sample_rate <= 0 or (sample_rate < 1 and random.random() >= sample_rate):  # noqa: S311
        return False
    with _audit_lock:
        second = int(time.time())
        if _audit_window[0] != second:
            _audit_window[0], _audit_window[1] = second, 0
        if _audit_window[1] >= settings.GUARDIAN_AUDIT_MAX_PER_SECOND:
            return False
        _audit_window[1] += 1
    return True


def denial_record(
    *,
    kind: str,
    reason: str,
    action: str = "",
    policy: str = "",
    enforced: bool = True,
    principal: Any = None,
    api_key: APIKey | None = None,
    key_prefix: str = "",
    request: HttpRequest | None = None,
    route: str = "",
    detail: str = "",
) -> None:
    """Sample a refusal into the audit log; never raises, never slows a flood down.

    ``route`` names where a refusal without a request happened (else the request's route).
    """
    if kind == DenialKind.AUTHENTICATION:
        metrics.auth_failures_total.labels(reason).inc()
    current = pdp.current()
    rate = settings.GUARDIAN_AUDIT_SAMPLE_RATE
    if current is not None:
        rate = min(rate, current.audit_sample_rate)
    if not _audit_admitted(rate):
        return
    if principal is not None:
        api_key = api_key or principal.api_key
    match = getattr(request, "resolver_match", None) if request is not None else None
    row = Denial(
        kind=kind,
        reason=reason[:64],
        action=action[:64],
        policy=(policy or (current.name if current else ""))[:64],
        enforced=enforced,
        principal_kind=(principal.kind if principal else ("api_key" if api_key else ""))[:16],
        api_key=api_key,
        key_prefix=(api_key.prefix if api_key else key_prefix)[:24],
        tenant=(principal.tenant if principal else None) or (api_key.tenant if api_key else None),
        user=principal.user if principal is not None and principal.kind == "user" else None,
        method=(request.method or "")[:10] if request is not None else "",
        route=((match.route if match else "") or (request.path if request else route))[:200],
        request_id=(getattr(request, "request_id", "") or "")[:128],
        detail=detail[:2000],
    )
    if _in_async_context():
        # An async view: the ORM must not run on the event loop's thread.
        threading.Thread(target=_save_denial_in_thread, args=(row,), daemon=True).start()
        return
    try:
        with transaction.atomic():
            row.save()
    except Exception:  # the audit must never turn a 403 into a 500
        logger.warning("could not write a guardian denial row", exc_info=True)


def _save_denial_in_thread(row: Denial) -> None:
    try:
        row.save()
    except Exception:
        logger.warning("could not write a guardian denial row", exc_info=True)
    finally:
        connection.close()


# --- policy switches ------------------------------------------------------------


def policy_override_set(
    *, policy: str, kill_switch: bool, note: str = "", by: Any = None
) -> PolicyOverride:
    override, _ = PolicyOverride.objects.get_or_create(policy=policy)
    override.kill_switch = kill_switch
    if note:
        override.note = note
    override.updated_by = by if getattr(by, "is_authenticated", False) else None
    override.save()
    _apply_locally()
    logger.warning(
        "guardian kill switch of policy %s turned %s", policy, "ON" if kill_switch else "off"
    )
    return override


def policy_reload_request(*, policy: str, by: Any = None) -> PolicyOverride:
    """Ask every process to re-read the policy file (they do within the refresh interval)."""
    override, _ = PolicyOverride.objects.get_or_create(policy=policy)
    override.reload_requested_at = timezone.now()
    override.updated_by = by if getattr(by, "is_authenticated", False) else None
    override.save()
    _apply_locally()
    return override


def _apply_locally() -> None:
    transaction.on_commit(lambda: pdp.refresh_if_stale(force=True))


# --- housekeeping -------------------------------------------------------------------


def purge_expired(*, now: datetime | None = None) -> dict[str, int]:
    """Delete expired limiter rows, idempotency records and old audit rows."""
    now = now or timezone.now()
    buckets, _ = RateBucket.objects.filter(expires_at__lt=now).delete()
    records, _ = IdempotencyRecord.objects.filter(expires_at__lt=now).delete()
    cutoff = now - timedelta(days=settings.GUARDIAN_AUDIT_RETENTION_DAYS)
    denials, _ = Denial.objects.filter(created_at__lt=cutoff).delete()
    return {"buckets": buckets, "idempotency_records": records, "denials": denials}

"""The synthetic load of a soak, as the sentinel and ``manage.py soak_load`` run it.

``soak_api_key_ensure`` mints (or re-uses, or rotates) the ``soak`` tenant's
load key: the probes' tenant (soak.sources.probe), a key of its own named
``soak-load`` whose limits follow the profile, so Guardian labels the load's
traffic as the tenant's and limits it on its own. ``load_start`` starts
Locust (soak.load.runner) with that key; ``load_stop`` and ``load_results``
stop it and read its CSV. See docs/soak-load.md.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from django.conf import settings

from guardian import keys
from guardian import selectors as guardian_selectors
from guardian import services as guardian_services
from guardian.models import APIKey
from lukhas_site.errors import InvalidRequest
from soak.load import runner
from soak.load.profile import LoadProfile, ProfileError, load_profile
from soak.load.runner import LoadProcess
from soak.sources.probe import PROBE_TENANT

LOAD_TENANT = PROBE_TENANT  # "soak": the probes and the load are one tenant
LOAD_KEY_NAME = "soak-load"
LOAD_SCOPES = (
    "models:read",
    "responses:write",
    "embeddings:write",
    "indexes:read",
    "indexes:write",
)
MAX_LIMIT = 2_000_000_000  # PositiveIntegerField
_LABEL = re.compile(r"[^A-Za-z0-9._-]+")

__all__ = [
    "LOAD_KEY_NAME",
    "LOAD_TENANT",
    "LoadProcess",
    "load_profile_read",
    "load_results",
    "load_start",
    "load_stop",
    "load_wait",
    "soak_api_key_ensure",
]


def _key_file() -> Path:
    return settings.VAR_DIR / "soak-load-key"


def _stored_key(plaintext: str) -> APIKey | None:
    parsed = keys.parse_key(plaintext)
    if parsed is None:
        return None
    key = guardian_selectors.api_key_by_public_id(parsed.public_id)
    if (
        key is None
        or not keys.hashes_match(key.key_hash, keys.hash_key(plaintext))
        or key.revoked
        or key.is_expired()
        or not key.tenant.is_active
        or key.tenant.slug != LOAD_TENANT
    ):
        return None
    return key


def _limits(requests_per_minute: int) -> dict[str, int]:
    """The key's limits: the profile's rate with head-room, tokens in proportion.

    A soak request is short (~50 tokens); 200 tokens a request per minute and
    100 a request over a day leave room without making the key unlimited.
    """
    return {
        "requests_per_minute": requests_per_minute,
        "tokens_per_minute": min(
            MAX_LIMIT, max(settings.GUARDIAN_DEFAULT_TPM, requests_per_minute * 200)
        ),
        "daily_token_quota": min(
            MAX_LIMIT, max(settings.GUARDIAN_DEFAULT_DAILY_QUOTA, requests_per_minute * 1440 * 100)
        ),
    }


def required_rpm(profile: LoadProfile) -> int:
    """Requests per minute the key must allow: the profile's rate and half again."""
    return max(60, math.ceil(profile.rps * 60 * 1.5))


def soak_api_key_ensure(*, requests_per_minute: int = 60, rotate: bool = False) -> str:
    """The load's key: LUKHAS_SOAK_LOAD_API_KEY, else the ``soak`` tenant's ``soak-load`` key.

    The minted key's plaintext lives only in ``var/soak-load-key`` (0600);
    a revoked or vanished key is replaced, ``rotate`` revokes the current
    one and mints another, and a key whose limits are below
    ``requests_per_minute`` has them raised. The secret is never logged.
    """
    if settings.SOAK_LOAD_API_KEY:
        return settings.SOAK_LOAD_API_KEY
    path = _key_file()
    stored = path.read_text().strip() if path.exists() else ""
    key = _stored_key(stored) if stored else None
    limits = _limits(requests_per_minute)
    if key is not None and rotate:
        guardian_services.api_key_revoke(key=key)
        key = None
    if key is not None:
        changed = [name for name, value in limits.items() if getattr(key, name) < value]
        scopes = sorted(set(key.scopes) | set(LOAD_SCOPES))
        if scopes != sorted(key.scopes):
            key.scopes = scopes
            changed.append("scopes")
        for name in changed:
            if name != "scopes":
                setattr(key, name, limits[name])
        if changed:
            guardian_services.api_key_update(key=key, fields=changed)
        return stored
    tenant = guardian_services.tenant_ensure(slug=LOAD_TENANT)
    plaintext, _ = guardian_services.api_key_create(
        name=LOAD_KEY_NAME, scopes=LOAD_SCOPES, tenant=tenant, **limits
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(plaintext)
    os.replace(scratch, path)  # atomic: a reader sees the old key or the new one
    return plaintext


def load_profile_read(path: str | Path | None = None) -> LoadProfile:
    """The profile file (LUKHAS_SOAK_LOAD_PROFILE by default); errors are InvalidRequest."""
    try:
        return load_profile(path or settings.SOAK_LOAD_PROFILE)
    except ProfileError as exc:
        raise InvalidRequest(str(exc)) from None


def load_start(
    *,
    target_url: str | None = None,
    profile: LoadProfile | None = None,
    out_dir: str | Path | None = None,
    run_label: str = "soak-load",
) -> LoadProcess:
    """Start the load against ``target_url`` (this site on loopback by default); returns at once.

    ``out_dir`` (default ``var/soak-load/<run_label>``) receives Locust's
    CSV, its log, the profile and ``load.json`` (the pid, for a later
    ``load_stop``). Locust stops by itself after the profile's duration.
    """
    profile = profile or load_profile_read()
    label = _LABEL.sub("-", run_label).strip("-") or "soak-load"
    out = Path(out_dir) if out_dir else settings.VAR_DIR / "soak-load" / label
    api_key = soak_api_key_ensure(requests_per_minute=required_rpm(profile))
    try:
        return runner.start(
            target_url=target_url or settings.SOAK_SELF_URL,
            profile=profile,
            out_dir=out,
            run_label=label,
            api_key=api_key,
        )
    except runner.LoadError as exc:
        raise InvalidRequest(str(exc)) from None


def load_stop(*, run: LoadProcess | int | str | Path) -> bool:
    """Stop a load run (a LoadProcess, its pid or its out_dir); True if this call stopped it."""
    if isinstance(run, LoadProcess):
        pid = run.pid
    elif isinstance(run, int):
        pid = run
    else:
        pid = LoadProcess.from_dir(run).pid
    try:
        return runner.stop(pid)
    except runner.LoadError as exc:
        raise InvalidRequest(str(exc)) from None


def load_results(out_dir: str | Path | LoadProcess) -> dict[str, Any]:
    """Per request name and aggregated: count, failures, p50/p90/p95/p99/max (ms), rps.

    Unknown figures are None; ``complete`` is False while Locust still runs
    or when it never wrote its stats.
    """
    try:
        return runner.results(out_dir)
    except runner.LoadError as exc:
        raise InvalidRequest(str(exc)) from None


def load_wait(run: LoadProcess, *, timeout: float | None = None) -> bool:
    """Wait for a run to end by itself; True if it did within ``timeout``."""
    return runner.wait(run.pid, timeout=timeout)

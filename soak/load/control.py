"""The synthetic load of a soak, as soak runs and ``manage.py soak_load`` run it.

It lives in ``soak.load`` (re-exported by ``soak.load`` and ``soak.services``)
because the soak package's modules import one another one way (the
``acyclic`` contract): ``soak.services`` -> ``soak.load``.

``soak_api_key_ensure`` mints (or re-uses, or rotates) the ``soak`` tenant's
load key: the probes' tenant (soak.sources.probe), a key of its own named
``soak-load`` whose limits follow the profile, so Guardian labels the load's
traffic as the tenant's and limits it on its own. ``load_start`` starts
Locust (soak.load.runner) with that key; ``load_stop`` and ``load_results``
stop it and read its CSV. See docs/soak-load.md.
"""

from __future__ import annotations

import logging
import math
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from guardian import keys
from guardian import selectors as guardian_selectors
from guardian import services as guardian_services
from guardian.models import APIKey
from lukhas_site.errors import InvalidRequest
from soak.load import runner
from soak.load.profile import (
    MAX_DURATION_SECONDS,
    LoadProfile,
    ProfileError,
    load_profile,
    parse_profile,
)
from soak.load.results import interval_since
from soak.load.runner import LoadProcess
from soak.models import SoakRun
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
log = logging.getLogger(__name__)
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


def _soak_profile(run: SoakRun) -> LoadProfile:
    """The profile a soak run loads with: the file's (recorded on the run), for the soak's length.

    A soak's load lasts its planned hours twice over (its deadline, as gaps
    extend a soak), capped at the profile's week; the run's end stops it sooner.
    """
    try:
        profile = (
            parse_profile(_as_profile_data(run.load_profile), source=f"soak run #{run.pk}")
            if run.load_profile
            else load_profile_read()
        )
    except ProfileError as exc:
        raise InvalidRequest(str(exc)) from None
    hours = max(1, int(run.planned_hours or 1)) * 2 * 3600
    return profile.with_overrides(duration_seconds=min(hours, MAX_DURATION_SECONDS))


def _as_profile_data(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "duration_seconds" in data:
        data["duration"] = data.pop("duration_seconds")
    return data


def load_start(
    *,
    run: SoakRun | None = None,
    target_url: str | None = None,
    profile: LoadProfile | None = None,
    out_dir: str | Path | None = None,
    run_label: str | None = None,
) -> LoadProcess | None:
    """Start the load against ``target_url`` (this site on loopback by default); returns at once.

    ``run``: a soak run's load (its target, ``var/soak-load/run-<pk>``, the
    release as label, its planned hours); its ``load_profile``, ``load_pid``
    and ``load_dir`` are recorded. ``out_dir`` (default
    ``var/soak-load/<run_label>``) receives Locust's CSV, its log, the
    profile and ``load.json`` (the pid, for a later ``load_stop``). Locust
    stops by itself after the profile's duration. None (nothing started) for
    a run when LUKHAS_SOAK_LOAD_ENABLED is off.
    """
    if run is not None and not settings.SOAK_LOAD_ENABLED:
        log.info("soak run %s: synthetic load disabled (LUKHAS_SOAK_LOAD_ENABLED)", run.pk)
        return None
    if run is not None:
        profile = profile or _soak_profile(run)
        target_url = target_url or run.target_url
        run_label = run_label or f"{run.release.name}-run-{run.pk}"
        out_dir = out_dir or settings.VAR_DIR / "soak-load" / f"run-{run.pk}"
    profile = profile or load_profile_read()
    label = _LABEL.sub("-", run_label or "soak-load").strip("-") or "soak-load"
    out = Path(out_dir) if out_dir else settings.VAR_DIR / "soak-load" / label
    api_key = soak_api_key_ensure(requests_per_minute=required_rpm(profile))
    try:
        process = runner.start(
            target_url=target_url or settings.SOAK_SELF_URL,
            profile=profile,
            out_dir=out,
            run_label=label,
            api_key=api_key,
            lease_seconds=settings.SOAK_LOAD_LEASE_SECONDS if run is not None else None,
        )
    except runner.LoadError as exc:
        raise InvalidRequest(str(exc)) from None
    if run is not None:
        run.load_profile = profile.as_dict()
        run.load_pid = process.pid
        run.load_dir = process.out_dir
        run.save(update_fields=["load_profile", "load_pid", "load_dir", "updated_at"])
    return process


def load_lease_renew(*, run: SoakRun) -> bool:
    """Renew the lease of ``run``'s load (each sentinel beat); False when it has none."""
    return bool(run.load_dir) and runner.lease_renew(run.load_dir)


def _process_of(run: SoakRun | LoadProcess | int | str | Path) -> LoadProcess | int:
    if isinstance(run, LoadProcess | int):
        return run
    if isinstance(run, SoakRun):
        if run.load_dir:
            return LoadProcess.from_dir(run.load_dir)
        if run.load_pid:
            return run.load_pid
        raise InvalidRequest(f"soak run #{run.pk} has no synthetic load")
    return LoadProcess.from_dir(run)


def load_stop(*, run: SoakRun | LoadProcess | int | str | Path) -> bool:
    """Stop a load (a soak run's, a LoadProcess, its pid or its out dir); True if this call did."""
    try:
        process = _process_of(run)
        return runner.stop(process.pid if isinstance(process, LoadProcess) else process)
    except runner.LoadError as exc:
        raise InvalidRequest(str(exc)) from None


def load_results(
    out_dir: str | Path | LoadProcess | None = None,
    *,
    run: SoakRun | None = None,
    since: datetime | None = None,
) -> dict[str, Any]:
    """Per request name and aggregated: count, failures, p50/p90/p95/p99/max (ms), rps.

    The figures are Locust's, cumulative since the load started; with
    ``since``, ``interval`` adds the requests and failures made after it (from
    Locust's stats history; None when the history does not reach back).
    Unknown figures are None; ``complete`` is False while Locust still runs
    or when it never wrote its stats.
    """
    target = _process_of(run) if run is not None else out_dir
    if target is None:
        raise InvalidRequest("load_results needs an out dir or a soak run")
    if isinstance(target, int):
        raise InvalidRequest(f"soak run #{run.pk} has no load directory to read")
    try:
        results = runner.results(target)
    except runner.LoadError as exc:
        raise InvalidRequest(str(exc)) from None
    if since is not None:
        prefix = target.csv_prefix if isinstance(target, LoadProcess) else None
        prefix = prefix or LoadProcess.from_dir(target).csv_prefix
        results["interval"] = interval_since(prefix, since.timestamp())
    return results


def load_wait(run: LoadProcess, *, timeout: float | None = None) -> bool:
    """Wait for a run to end by itself; True if it did within ``timeout``."""
    return runner.wait(run.pid, timeout=timeout)

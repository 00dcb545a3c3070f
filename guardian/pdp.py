"""The policy decision point: (principal, action) → allow/deny, with a reason.

Policies are YAML files under ``configs/guardian/`` (format in docs/guardian.md),
chosen by ``LUKHAS_GUARDIAN_POLICY``. A file is compiled once into plain dicts
and frozensets; a decision is a handful of dict lookups, so it stays far
below its 0.2 ms budget (a GA gate). The compiled policy is swapped, never
mutated, when the file's mtime changes or a maintainer flips a switch in the
admin; processes notice within ``GUARDIAN_POLICY_REFRESH_SECONDS``.

Modes: **strict** enforces every deny; **permissive** lets a deny through but
still counts and audits it (a dry run, like SELinux's permissive mode). A
kill switch denies everything, in either mode.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import DatabaseError

from guardian import metrics
from guardian.models import ALL_SCOPES, PolicyOverride

logger = logging.getLogger(__name__)

POLICY_NAMES = ("dev", "sandbox", "production")
MODES = ("permissive", "strict")
PRINCIPAL_KINDS = frozenset({"api_key", "user"})
LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "daily_token_quota")


class PolicyError(ImproperlyConfigured):
    """A policy file that cannot be used (named, with the field that is wrong)."""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    policy: str
    # False when a permissive policy let a deny through.
    enforced: bool = True

    @property
    def would_deny(self) -> bool:
        return not self.allowed or not self.enforced


@dataclass(frozen=True, slots=True)
class Limits:
    """Ceilings a policy puts on every key's limits (None: no ceiling)."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    daily_token_quota: int | None = None

    def tighten(self, other: Limits) -> Limits:
        def lower(a: int | None, b: int | None) -> int | None:
            return b if a is None else a if b is None else min(a, b)

        return Limits(
            *(lower(getattr(self, f), getattr(other, f)) for f in LIMIT_FIELDS),
        )

    def cap(self, field_name: str, value: int) -> int:
        ceiling = getattr(self, field_name)
        return value if ceiling is None else min(value, ceiling)


@dataclass(frozen=True, slots=True)
class ActionRule:
    enabled: bool
    principals: frozenset[str]


@dataclass(frozen=True, slots=True)
class TenantRule:
    pattern: str
    actions: frozenset[str] | None
    limits: Limits
    kill_switch: bool


@dataclass(slots=True)
class CompiledPolicy:
    name: str
    mode: str
    kill_switch: bool
    description: str
    not_for_production: bool
    audit_sample_rate: float
    limits: Limits
    actions: dict[str, ActionRule]
    tenant_exact: dict[str, TenantRule]
    tenant_globs: tuple[TenantRule, ...]
    source: str
    mtime: float
    loaded_at: float = field(default_factory=time.time)
    _tenant_cache: dict[str, TenantRule | None] = field(default_factory=dict)
    _decisions: dict[tuple[bool, str, bool], Decision] = field(default_factory=dict)

    @property
    def permissive(self) -> bool:
        return self.mode == "permissive"

    def tenant_rule(self, slug: str) -> TenantRule | None:
        try:
            return self._tenant_cache[slug]
        except KeyError:
            pass
        rule = self.tenant_exact.get(slug)
        if rule is None:
            rule = next(
                (r for r in self.tenant_globs if fnmatch.fnmatchcase(slug, r.pattern)), None
            )
        if len(self._tenant_cache) < 10_000:
            self._tenant_cache[slug] = rule
        return rule

    def limits_for(self, tenant_slug: str | None) -> Limits:
        rule = self.tenant_rule(tenant_slug) if tenant_slug else None
        return self.limits.tighten(rule.limits) if rule else self.limits

    def decision(self, allowed: bool, reason: str, enforced: bool = True) -> Decision:
        key = (allowed, reason, enforced)
        found = self._decisions.get(key)
        if found is None:
            found = self._decisions[key] = Decision(allowed, reason, self.name, enforced)
        return found

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "kill_switch": self.kill_switch,
            "not_for_production": self.not_for_production,
            "source": self.source,
            "actions": sorted(a for a, r in self.actions.items() if r.enabled),
        }


# --- loading -------------------------------------------------------------------


def _limits(raw: Any, where: str) -> Limits:
    if raw is None:
        return Limits()
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: limits must be a mapping")
    unknown = set(raw) - set(LIMIT_FIELDS)
    if unknown:
        raise PolicyError(f"{where}: unknown limit(s) {sorted(unknown)}")
    values = {}
    for name in LIMIT_FIELDS:
        value = raw.get(name)
        if value is not None and (not isinstance(value, int) or value <= 0):
            raise PolicyError(f"{where}.{name}: must be a positive integer or null")
        values[name] = value
    return Limits(**values)


def _scopes(raw: Any, where: str) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise PolicyError(f"{where}: must be a list of scopes")
    unknown = set(raw) - ALL_SCOPES
    if unknown:
        raise PolicyError(f"{where}: unknown scope(s) {sorted(unknown)}")
    return frozenset(raw)


_TOP_KEYS = {
    "policy", "description", "not_for_production", "mode", "kill_switch", "audit",
    "limits", "actions", "tenants",
}  # fmt: skip


def compile_policy(document: Any, *, source: str, mtime: float = 0.0) -> CompiledPolicy:
    """Check a parsed policy document and turn it into the in-memory structure."""
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: a policy file is a mapping")
    unknown = set(document) - _TOP_KEYS
    if unknown:
        raise PolicyError(f"{source}: unknown key(s) {sorted(unknown)}")
    name = document.get("policy")
    if not isinstance(name, str) or not name:
        raise PolicyError(f"{source}: 'policy' (its name) is required")
    mode = document.get("mode", "strict")
    if mode not in MODES:
        raise PolicyError(f"{source}: mode {mode!r} is not one of {MODES}")
    actions: dict[str, ActionRule] = {}
    raw_actions = document.get("actions") or {}
    if not isinstance(raw_actions, dict):
        raise PolicyError(f"{source}: actions must be a mapping of scope to rule")
    for action, rule in raw_actions.items():
        if action not in ALL_SCOPES:
            raise PolicyError(f"{source}: actions.{action}: unknown scope")
        rule = rule or {}
        principals = frozenset(rule.get("principals", sorted(PRINCIPAL_KINDS)))
        if not principals <= PRINCIPAL_KINDS:
            raise PolicyError(f"{source}: actions.{action}.principals: use api_key and/or user")
        enabled = rule.get("enabled", True)
        if not isinstance(enabled, bool):
            raise PolicyError(f"{source}: actions.{action}.enabled must be true or false")
        actions[action] = ActionRule(enabled=enabled, principals=principals)
    exact: dict[str, TenantRule] = {}
    globs: list[TenantRule] = []
    for pattern, raw in (document.get("tenants") or {}).items():
        where = f"{source}: tenants.{pattern}"
        raw = raw or {}
        extra = set(raw) - {"actions", "limits", "kill_switch"}
        if extra:
            raise PolicyError(f"{where}: unknown key(s) {sorted(extra)}")
        rule = TenantRule(
            pattern=pattern,
            actions=_scopes(raw["actions"], f"{where}.actions") if "actions" in raw else None,
            limits=_limits(raw.get("limits"), f"{where}.limits"),
            kill_switch=bool(raw.get("kill_switch", False)),
        )
        (globs.append(rule) if any(c in pattern for c in "*?[") else exact.update({pattern: rule}))
    audit = document.get("audit") or {}
    sample_rate = audit.get("sample_rate", 1.0)
    if not isinstance(sample_rate, int | float) or not 0 <= sample_rate <= 1:
        raise PolicyError(f"{source}: audit.sample_rate must be between 0 and 1")
    return CompiledPolicy(
        name=name,
        mode=mode,
        kill_switch=bool(document.get("kill_switch", False)),
        description=str(document.get("description", "")).strip(),
        not_for_production=bool(document.get("not_for_production", False)),
        audit_sample_rate=float(sample_rate),
        limits=_limits(document.get("limits"), f"{source}: limits"),
        actions=actions,
        tenant_exact=exact,
        tenant_globs=tuple(globs),
        source=source,
        mtime=mtime,
    )


def policy_path(choice: str | None = None) -> Path:
    """``dev``/``sandbox``/``production`` name a shipped file; anything else is a path."""
    choice = choice or settings.GUARDIAN_POLICY
    if choice in POLICY_NAMES:
        return Path(settings.GUARDIAN_POLICY_DIR) / f"policies.{choice}.yaml"
    path = Path(choice)
    return path if path.is_absolute() else Path(settings.BASE_DIR) / path


def load_policy(path: Path) -> CompiledPolicy:
    try:
        mtime = path.stat().st_mtime
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PolicyError(f"policy file {path} cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy file {path} is not valid YAML: {exc}") from exc
    policy = compile_policy(document, source=str(path), mtime=mtime)
    if settings.GUARDIAN_MODE:
        if settings.GUARDIAN_MODE not in MODES:
            raise PolicyError(f"LUKHAS_GUARDIAN_MODE={settings.GUARDIAN_MODE!r}: use {MODES}")
        policy.mode = settings.GUARDIAN_MODE
    return policy


# --- the process's current policy ----------------------------------------------


@dataclass
class _State:
    policy: CompiledPolicy | None = None
    error: str | None = None
    next_check: float = 0.0
    override_kill: bool = False
    override_stamp: object = None


_state = _State()
_reload_lock = threading.Lock()


def reset() -> None:
    """Forget the loaded policy (settings changed, or a test wants a clean slate)."""
    global _state
    with _reload_lock:
        _state = _State()


_POLICY_SETTINGS = frozenset(
    {"GUARDIAN_POLICY", "GUARDIAN_POLICY_DIR", "GUARDIAN_MODE", "GUARDIAN_POLICY_REFRESH_SECONDS",
     "BASE_DIR"}
)  # fmt: skip


def _on_setting_changed(setting: str = "", **kwargs: object) -> None:
    if setting in _POLICY_SETTINGS:
        reset()


setting_changed.connect(_on_setting_changed)


def _load_into_state() -> None:
    path = policy_path()
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        _state.error = str(exc)
        if _state.policy is None:
            logger.error("guardian policy not loaded, every decision is deny: %s", exc)
        else:
            logger.error("guardian policy reload failed, keeping the last good one: %s", exc)
        return
    policy.kill_switch = policy.kill_switch or _state.override_kill
    _state.policy = policy
    _state.error = None
    logger.info("guardian policy %s loaded (%s mode) from %s", policy.name, policy.mode, path)


def current() -> CompiledPolicy | None:
    """The compiled policy of this process (loaded on first use; no database I/O)."""
    if _state.policy is None and _state.error is None:
        with _reload_lock:
            if _state.policy is None and _state.error is None:
                _load_into_state()
    return _state.policy


def load_error() -> str | None:
    current()
    return _state.error


def refresh_if_stale(*, force: bool = False) -> None:
    """Re-read the file if it changed and the admin's switches; cheap when not due.

    Called from sync code only (the middleware, commands): it may query the
    database for the admin's overrides.
    """
    now = time.monotonic()
    if not force and now < _state.next_check:
        return
    with _reload_lock:
        if not force and now < _state.next_check:
            return
        _state.next_check = now + settings.GUARDIAN_POLICY_REFRESH_SECONDS
        # The override first, even when forced: a forced refresh (the admin
        # flipping a switch in this process) must see the switch it flipped.
        changed = _read_override() or force
        policy = _state.policy
        if policy is None or changed:
            _load_into_state()
            return
        try:
            mtime = Path(policy.source).stat().st_mtime
        except OSError:
            mtime = -1.0
        if mtime != policy.mtime:
            _load_into_state()


def _read_override() -> bool:
    """Pick up the admin's kill switch / reload request; True when it changed."""
    name = _state.policy.name if _state.policy else None
    if name is None:
        try:
            name = load_policy(policy_path()).name
        except PolicyError:
            return False
    try:
        row = (
            PolicyOverride.objects.filter(policy=name)
            .values_list("kill_switch", "updated_at", "reload_requested_at")
            .first()
        )
    except (DatabaseError, RuntimeError):
        # Before migrate, the database away (or closed to a test): keep what we have.
        return False
    kill, stamp = (row[0], row) if row else (False, None)
    if stamp == _state.override_stamp:
        return False
    _state.override_stamp = stamp
    _state.override_kill = kill
    return True


# --- deciding ----------------------------------------------------------------------

_UNAVAILABLE = Decision(False, "policy_unavailable", "none")
_children: dict[tuple[str, str], Any] = {}


def _count(decision: Decision, elapsed: float) -> None:
    if decision.allowed:
        label = ("allow", decision.reason if decision.enforced else f"permissive_{decision.reason}")
    else:
        label = ("deny", decision.reason)
    child = _children.get(label)
    if child is None:
        child = _children[label] = metrics.decisions_total.labels(*label)
    child.inc()
    metrics.pdp_duration_seconds.observe(elapsed)


def evaluate(
    policy: CompiledPolicy | None,
    kind: str,
    scopes: frozenset[str],
    tenant_slug: str | None,
    action: str,
) -> Decision:
    """The decision itself: pure, no metrics, no I/O."""
    if policy is None:
        return _UNAVAILABLE
    if policy.kill_switch:
        return policy.decision(False, "kill_switch")
    rule = policy.actions.get(action)
    reason = None
    if rule is None:
        reason = "unknown_action"
    elif not rule.enabled:
        reason = "action_disabled"
    elif kind not in rule.principals:
        reason = "principal_not_allowed"
    else:
        tenant_rule = policy.tenant_rule(tenant_slug) if tenant_slug else None
        if tenant_rule is not None and tenant_rule.kill_switch:
            return policy.decision(False, "tenant_kill_switch")
        restricted = tenant_rule is not None and tenant_rule.actions is not None
        if restricted and action not in tenant_rule.actions:
            reason = "tenant_restricted"
        if reason is None and action not in scopes:
            reason = "missing_scope"
    if reason is None:
        return policy.decision(True, "granted")
    if policy.permissive:
        return policy.decision(True, reason, enforced=False)
    return policy.decision(False, reason)


def decide(principal: Any, action: str, *, scopes: Any = None) -> Decision:
    """Decide whether ``principal`` may take ``action`` (a scope).

    ``scopes`` replaces the principal's scopes for this decision (a session
    user's Django permission decides instead of the default scope set).
    """
    started = time.perf_counter()
    tenant = principal.tenant
    decision = evaluate(
        _state.policy or current(),
        principal.kind,
        principal.scopes if scopes is None else scopes,
        tenant.slug if tenant is not None else None,
        action,
    )
    _count(decision, time.perf_counter() - started)
    return decision

"""Guardian's readiness check and its configuration mistakes as system checks.

``guardian.E001``: the chosen policy file cannot be loaded.
``guardian.E002``: a policy marked not-for-production is chosen with LUKHAS_ENV=production.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from guardian import pdp


def readiness() -> str:
    """Ready when a policy is loaded; says which, in which mode, and whether it is killed."""
    policy = pdp.current()
    error = pdp.load_error()
    if policy is None:
        raise RuntimeError(error or "no policy loaded")
    detail = f"policy {policy.name} ({policy.mode})"
    if policy.kill_switch:
        detail += ", KILL SWITCH ON"
    if error:
        detail += f"; last reload failed: {error}"
    return detail


def check_policy(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    path = pdp.policy_path()
    try:
        policy = pdp.load_policy(path)
    except pdp.PolicyError as exc:
        return [
            checks.Error(
                str(exc),
                hint="Fix the file, or set LUKHAS_GUARDIAN_POLICY to dev, sandbox or production.",
                id="guardian.E001",
            )
        ]
    if settings.PRODUCTION and policy.not_for_production:
        return [
            checks.Error(
                f"LUKHAS_ENV=production decides with policy {policy.name!r} ({path}), "
                "which is marked not_for_production",
                hint="Use LUKHAS_GUARDIAN_POLICY=production (or sandbox).",
                id="guardian.E002",
            )
        ]
    return []


def register() -> None:
    checks.register(check_policy)

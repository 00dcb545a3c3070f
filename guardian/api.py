"""The Guardian ops API: who am I and what is left of my budget; usage reports; policy."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from guardian import pdp, ratelimit, selectors, services
from guardian.permissions import require_scope
from guardian.schemas import MeOut, PolicyOut, UsageIn, UsageOut
from lukhas_site.errors import InvalidRequest, ServiceUnavailable

router = Router()


@router.get("/me", response=MeOut, url_name="guardian-me", operation_id="guardian_me")
def me(request: HttpRequest) -> dict[str, Any]:
    """The calling key's scopes, limits, remaining budget and today's usage (or a user's scopes)."""
    principal = request.auth
    if principal.api_key is None:
        user = principal.user
        return {
            "principal": principal.kind,
            "scopes": sorted(principal.scopes),
            "user": {"username": user.get_username(), "is_staff": user.is_staff},
        }
    return {
        "principal": principal.kind,
        "scopes": sorted(principal.scopes),
        "key": selectors.key_summary(principal.api_key),
        **selectors.key_budget(principal.api_key),
    }


@router.post(
    "/usage", response=UsageOut, url_name="guardian-usage", operation_id="guardian_usage_report"
)
def usage_report(request: HttpRequest, payload: UsageIn) -> dict[str, Any]:
    """Charge tokens an answer used to the calling key (for model runners outside this site).

    Send an ``Idempotency-Key``: a retried report is then charged once.
    """
    principal = require_scope(request, "responses:write")
    if principal.api_key is None:
        raise InvalidRequest("Usage is reported with the API key that used the tokens.")
    outcome = ratelimit.charge_tokens(principal, payload.tokens)
    budget = selectors.key_budget(principal.api_key)
    return {
        "charged": payload.tokens if outcome is not None else 0,
        "usage_today": budget["usage_today"],
        "remaining": budget["remaining"],
        "degraded": outcome is None or budget["degraded"],
    }


def _policy_out() -> dict[str, Any]:
    policy = pdp.current()
    if policy is None:
        raise ServiceUnavailable(f"No Guardian policy is loaded: {pdp.load_error()}")
    return {**policy.summary(), "error": pdp.load_error()}


@router.get(
    "/policy", response=PolicyOut, url_name="guardian-policy", operation_id="guardian_policy"
)
def policy_show(request: HttpRequest) -> dict[str, Any]:
    """The policy this process decides with (name, mode, kill switch, enabled actions)."""
    require_scope(request, "ops:read")
    return _policy_out()


@router.post(
    "/policy/reload",
    response=PolicyOut,
    url_name="guardian-policy-reload",
    operation_id="guardian_policy_reload",
)
def policy_reload(request: HttpRequest) -> dict[str, Any]:
    """Re-read the policy file here now, and in every other process within a few seconds."""
    principal = require_scope(request, "ops:write", perm="guardian.change_policyoverride")
    current = pdp.current()
    name = current.name if current else pdp.policy_path().stem.removeprefix("policies.")
    services.policy_reload_request(policy=name, by=principal.user)
    pdp.refresh_if_stale(force=True)
    return _policy_out()

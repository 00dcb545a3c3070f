"""Scope checks: ``require_scope(request, "indexes:write")``, the one authorization path.

Every check is a PDP decision, so kill switches, tenant sandboxes and
permissive dry runs apply to every operation of every app the same way —
API operations, dashboard views and admin actions alike.

For an API key the scope must be on the key (and allowed by the policy).
For a dashboard session (``request.auth`` from ninja, or a plain Django
view's ``request.user``): with ``perm`` the user needs that Django
permission AND the policy must allow the scope; without it any active user
may read (``*:read``) and staff may write.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from guardian import pdp, services
from guardian.models import DenialKind
from guardian.principals import Principal, user_principal
from lukhas_site.errors import AuthenticationFailed, PermissionDenied

_REASON_TEXT = {
    "kill_switch": "Guardian's kill switch is on for policy {policy}: every operation is refused.",
    "tenant_kill_switch": "Operations of this tenant are switched off by policy {policy}.",
    "action_disabled": "The '{scope}' operations are switched off by policy {policy}.",
    "unknown_action": "Policy {policy} does not allow '{scope}'.",
    "principal_not_allowed": "Policy {policy} does not allow '{scope}' for {kind} callers.",
    "tenant_restricted": "This tenant's sandbox (policy {policy}) does not include the "
    "'{scope}' scope.",
    "policy_unavailable": "No Guardian policy is loaded, so '{scope}' cannot be allowed.",
}


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.route if match else "") or request.path


def _request_principal(request: HttpRequest) -> Principal:
    principal = getattr(request, "auth", None)
    if isinstance(principal, Principal):
        return principal
    # A plain Django view or an admin action: the session's user (Django's
    # CSRF middleware has already checked an unsafe method there).
    return _user_principal(getattr(request, "user", None))


def _user_principal(user: Any) -> Principal:
    if user is None or not user.is_authenticated or not user.is_active:
        raise AuthenticationFailed("Authentication is required for this operation.")
    return user_principal(user)


def require_scope(request: HttpRequest, scope: str, *, perm: str | None = None) -> Principal:
    """Return the request's principal if it may use ``scope``; raise PermissionDenied naming it."""
    principal = _request_principal(request)
    return _authorize(principal, scope, perm=perm, request=request, route=_route(request))


def authorize_user(user: Any, scope: str, *, perm: str | None = None, route: str = "") -> Principal:
    """``require_scope`` for a caller without a request (a command or a task acting for a user)."""
    return _authorize(_user_principal(user), scope, perm=perm, request=None, route=route)


def authorize_principal(principal: Principal, scope: str, *, route: str = "") -> Principal:
    """``require_scope`` for work done on a caller's behalf inside a request (a MATRIZ tool)."""
    return _authorize(principal, scope, perm=None, request=None, route=route)


def _authorize(
    principal: Principal,
    scope: str,
    *,
    perm: str | None,
    request: HttpRequest | None,
    route: str,
) -> Principal:
    # Pages and admin actions do not pass Guardian's middleware, which is what
    # re-reads the admin's kill switch for /v1 and /api; cheap when not due.
    pdp.refresh_if_stale()
    granted = None
    if principal.kind == "user" and perm is not None:
        # The Django permission grants the scope (or takes it away); the
        # policy then decides as for everyone, so a kill switch still holds.
        has = principal.user.has_perm(perm)
        granted = principal.scopes | {scope} if has else principal.scopes - {scope}
    decision = pdp.decide(principal, scope, scopes=granted)
    if decision.would_deny:
        services.denial_record(
            kind=DenialKind.POLICY,
            reason=decision.reason,
            action=scope,
            policy=decision.policy,
            enforced=not decision.allowed,
            principal=principal,
            request=request,
            route=route,
        )
    if decision.allowed:
        return principal
    raise PermissionDenied(_message(principal, scope, perm, decision), param=scope)


def _message(principal: Principal, scope: str, perm: str | None, decision: pdp.Decision) -> str:
    if decision.reason == "missing_scope":
        if principal.kind == "api_key":
            return (
                f"This API key lacks the '{scope}' scope required for this operation "
                f"(it has: {', '.join(sorted(principal.scopes)) or 'none'})."
            )
        if perm is not None:
            return f"You need the '{perm}' permission (scope '{scope}') for this operation."
        return f"Your account lacks the '{scope}' scope required for this operation (staff only)."
    template = _REASON_TEXT.get(decision.reason, "Policy {policy} refused '{scope}'.")
    return template.format(scope=scope, policy=decision.policy, kind=principal.kind)

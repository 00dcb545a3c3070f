"""Scope checks for operations: ``require_scope(request, "indexes:write")``.

Every check is a PDP decision, so kill switches, tenant sandboxes and
permissive dry runs apply to every operation of every app the same way.

For an API key the scope must be on the key (and allowed by the policy).
For a dashboard session: with ``perm`` the user needs that Django
permission; without it any active user may read (``*:read``) and staff may
write.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest

from guardian import pdp
from guardian.auth import Principal
from guardian.models import DenialKind
from lukhas_site.errors import AuthenticationFailed, PermissionDenied

F = TypeVar("F", bound=Callable[..., Any])

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


def require_scope(request: HttpRequest, scope: str, *, perm: str | None = None) -> Principal:
    """Return the request's principal if it may use ``scope``; raise PermissionDenied naming it."""
    principal = getattr(request, "auth", None)
    if not isinstance(principal, Principal):
        raise AuthenticationFailed("Authentication is required for this operation.")
    granted = None
    if principal.kind == "user" and perm is not None:
        # The Django permission decides instead of the user's default scopes.
        has = principal.user.has_perm(perm)
        granted = principal.scopes | {scope} if has else principal.scopes - {scope}
    decision = pdp.decide(principal, scope, _route(request), scopes=granted)
    if decision.would_deny:
        from guardian import services

        services.denial_record(
            kind=DenialKind.POLICY,
            reason=decision.reason,
            action=scope,
            policy=decision.policy,
            enforced=not decision.allowed,
            principal=principal,
            request=request,
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


def scope_required(scope: str, *, perm: str | None = None) -> Callable[[F], F]:
    """Decorator form for ninja operations: ``@scope_required("indexes:write")``."""

    def decorate(func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                require_scope(request, scope, perm=perm)
                return await func(request, *args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            require_scope(request, scope, perm=perm)
            return func(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

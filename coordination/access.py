"""Who may do what in coordination: one check for the ops API, the pages and the admin.

Each operation names a Guardian scope and the Django permission that is its second
condition; ``allow`` asks ``guardian.permissions.require_scope`` (a PDP decision),
so a policy kill switch stops a board move or an admin bulk action exactly as it
stops ``PATCH /api/coordination/tasks/{key}``.
"""

from __future__ import annotations

from django.http import HttpRequest

from guardian import pdp
from guardian.permissions import require_scope
from guardian.principals import Principal, user_principal

Need = tuple[str, str]  # (scope, Django permission)

READ: Need = ("ops:read", "coordination.view_task")
WRITE: Need = ("ops:write", "coordination.change_task")
CREATE: Need = ("ops:write", "coordination.add_task")


def _ensure_principal(request: HttpRequest) -> None:
    """A page or admin request has no ``request.auth`` (ninja's auth sets it for the API),
    and Guardian's middleware, which re-reads the admin's kill switch, skips its path.

    TODO(merge): remove once guardian's require_scope builds it from request.user.
    """
    if not isinstance(getattr(request, "auth", None), Principal):
        pdp.refresh_if_stale()  # cheap when not due: a kill switch holds on pages too
        request.auth = user_principal(request.user)


def allow(request: HttpRequest, need: Need) -> Principal:
    """The principal if Guardian allows ``need``; else PermissionDenied naming what is missing."""
    scope, perm = need
    _ensure_principal(request)
    return require_scope(request, scope, perm=perm)


def offers(request: HttpRequest, need: Need) -> bool:
    """Whether a page shows an action's controls: the Django permission only. Asking the
    PDP here would audit a "denial" on every page view; the action itself calls ``allow``."""
    return request.user.has_perm(need[1])

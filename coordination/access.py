"""Who may do what in coordination: one check for the ops API, the pages and the admin.

Each operation names a Guardian scope and the Django permission that is its second
condition; ``allow`` asks ``guardian.permissions.require_scope`` (a PDP decision),
so a policy kill switch stops a board move or an admin bulk action exactly as it
stops ``PATCH /api/coordination/tasks/{key}``.
"""

from __future__ import annotations

from django.http import HttpRequest

from guardian.permissions import require_scope
from guardian.principals import Principal

Need = tuple[str, str]  # (scope, Django permission)

READ: Need = ("ops:read", "coordination.view_task")
WRITE: Need = ("ops:write", "coordination.change_task")
CREATE: Need = ("ops:write", "coordination.add_task")


def allow(request: HttpRequest, need: Need) -> Principal:
    """The principal if Guardian allows ``need``; else PermissionDenied naming what is missing."""
    scope, perm = need
    return require_scope(request, scope, perm=perm)


def offers(request: HttpRequest, need: Need) -> bool:
    """Whether a page shows an action's controls: the Django permission only. Asking the
    PDP here would audit a "denial" on every page view; the action itself calls ``allow``."""
    return request.user.has_perm(need[1])

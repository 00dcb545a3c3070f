"""Who may do what with health reports: one check for the ops API, the pages and the admin.

As ``coordination.access``: each operation names a Guardian scope and the Django
permission that is its second condition for a session. Starting an audit creates
a report, so it needs ``audits.add_healthreport``.
"""

from __future__ import annotations

from django.http import HttpRequest

from guardian.permissions import require_scope
from guardian.principals import Principal

Need = tuple[str, str | None]  # (scope, Django permission; None: any active user)

READ: Need = ("ops:read", None)  # login is enough to read, as the other ops pages
RUN: Need = ("ops:write", "audits.add_healthreport")


def allow(request: HttpRequest, need: Need) -> Principal:
    """The principal if Guardian allows ``need``; else PermissionDenied naming what is missing."""
    scope, perm = need
    return require_scope(request, scope, perm=perm)


def offers(request: HttpRequest, need: Need) -> bool:
    """Whether a page shows an action's button (the Django permission only; the action
    itself asks the PDP, so a page view is not audited as a denial)."""
    return need[1] is None or request.user.has_perm(need[1])

"""Who may do what in the soak: one check for the ops API and the pages.

Each action names a Guardian scope and the Django permission that is its
second condition (Django's model permissions, no new ones: starting a soak
adds a run, a snapshot adds a snapshot, aborting changes a run, promoting
changes a release). ``allow`` asks Guardian's PDP, so a policy kill switch
stops a promotion the same way on the page and the API.
"""

from __future__ import annotations

from django.http import HttpRequest

from guardian.permissions import require_scope
from guardian.principals import Principal

Need = tuple[str, str | None]

READ: Need = ("ops:read", None)  # as the pages: any signed-in user reads
START: Need = ("ops:write", "soak.add_soakrun")
SNAPSHOT: Need = ("ops:write", "soak.add_snapshot")
ABORT: Need = ("ops:write", "soak.change_soakrun")
PROMOTE: Need = ("ops:write", "soak.change_release")


def allow(request: HttpRequest, need: Need) -> Principal:
    """The principal if Guardian allows ``need``; else PermissionDenied naming what is missing."""
    scope, perm = need
    return require_scope(request, scope, perm=perm)


def offers(request: HttpRequest, need: Need) -> bool:
    """Whether a page shows an action's controls (the Django permission only, no PDP audit)."""
    return bool(need[1]) and request.user.has_perm(need[1])

"""Whose indexes, dreams and stored responses a caller reaches: the owner key."""

from __future__ import annotations

from guardian.auth import Principal


def owner_key(principal: Principal) -> str:
    """The tenant's slug for a key of a tenant, else the principal's scope id (``k12``)."""
    tenant = principal.tenant
    if tenant is not None and tenant.slug:
        return tenant.slug
    return principal.scope_id

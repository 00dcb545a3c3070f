"""Who is calling: the Principal every operation sees in ``request.auth``.

Its own module, below selectors and services, so that the code that reads
budgets or records denials can name a caller without importing the ninja
auth classes (guardian.auth), which sit above the services they call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from guardian.models import ALL_SCOPES, APIKey, Tenant

READ_SCOPES = frozenset(s for s in ALL_SCOPES if s.endswith(":read"))
WRITE_SCOPES = ALL_SCOPES - READ_SCOPES


@dataclass(slots=True)
class Principal:
    """The caller of one request, as every app's operations see it in ``request.auth``."""

    kind: str  # "user" | "api_key"
    user: Any = None
    api_key: APIKey | None = None
    tenant: Tenant | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # The tokens GuardianMiddleware reserved for this request
    # (a guardian.ratelimit.Reservation); charge_tokens settles against it.
    reservation: Any = None

    @property
    def is_api_key(self) -> bool:
        return self.kind == "api_key"

    @property
    def label(self) -> str:
        """A name safe for logs and audit rows (the public prefix, never the secret)."""
        if self.api_key is not None:
            return self.api_key.prefix
        return getattr(self.user, "username", "?")

    @property
    def scope_id(self) -> str:
        """What idempotency keys and usage are scoped to."""
        if self.api_key is not None:
            return f"k{self.api_key.pk}"
        return f"u{getattr(self.user, 'pk', 0)}"


def user_principal(user: Any) -> Principal:
    """A dashboard user: read scopes when active, write scopes too when staff."""
    scopes = READ_SCOPES | WRITE_SCOPES if user.is_staff else READ_SCOPES
    return Principal(kind="user", user=user, scopes=frozenset(scopes))


def key_principal(api_key: APIKey) -> Principal:
    """An API key's caller: the key's scopes (those that exist), its tenant."""
    return Principal(
        kind="api_key",
        api_key=api_key,
        tenant=api_key.tenant,
        scopes=api_key.scope_set & ALL_SCOPES,
    )

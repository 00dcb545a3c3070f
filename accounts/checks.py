"""Configuration mistakes of sign-in, as system checks (``manage.py check --deploy``).

``accounts.E001``: LUKHAS_OIDC_GROUP_MAP names a permission that does not exist.
``accounts.W001``: single sign-on admits every account of the provider (no allowed
domains or groups).
``accounts.W002``: production with an issuer that is not https.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core import checks
from django.db import DatabaseError


def check_group_map(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    if not settings.OIDC_ENABLED:
        return []
    named = {p for rule in settings.OIDC_GROUP_MAP.values() for p in rule.get("permissions", [])}
    if not named:
        return []
    try:
        known = {
            f"{app_label}.{codename}"
            for app_label, codename in Permission.objects.values_list(
                "content_type__app_label", "codename"
            )
        }
    except DatabaseError:  # not migrated yet: `migrate` runs the checks again
        return []
    unknown = sorted(named - known)
    if not unknown:
        return []
    return [
        checks.Error(
            f"LUKHAS_OIDC_GROUP_MAP names permissions that do not exist: {', '.join(unknown)}",
            hint="Use app_label.codename, as in the admin's permission list "
            "(e.g. coordination.change_task).",
            id="accounts.E001",
        )
    ]


def check_sso(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    if not settings.OIDC_ENABLED:
        return []
    found: list[checks.CheckMessage] = []
    if not settings.OIDC_ALLOWED_DOMAINS and not settings.OIDC_ALLOWED_GROUPS:
        found.append(
            checks.Warning(
                "Single sign-on admits every account of the identity provider",
                hint="Set LUKHAS_OIDC_ALLOWED_DOMAINS and/or LUKHAS_OIDC_ALLOWED_GROUPS.",
                id="accounts.W001",
            )
        )
    if settings.PRODUCTION and not settings.OIDC_ISSUER.startswith("https://"):
        found.append(
            checks.Warning(
                f"LUKHAS_OIDC_ISSUER={settings.OIDC_ISSUER} is not https",
                hint="Tokens and the client secret travel to this address.",
                id="accounts.W002",
            )
        )
    return found


def register() -> None:
    checks.register(check_group_map)
    checks.register(check_sso, checks.Tags.security, deploy=True)

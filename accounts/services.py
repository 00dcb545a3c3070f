"""Writes of sign-in: sessions, unlocks, and users provisioned by single sign-on.

Lockout counting itself is django-axes' (its database handler writes
``AccessAttempt``/``AccessLog``/``AccessFailureLog``); these functions are the
rest, called by the auth signal receivers, the middleware, views and admin.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.addresses import client_address
from accounts.models import SignInMethod, UserSession

log = logging.getLogger("lukhas.accounts")

# Unix times kept in the session: when it signed in, when it was last seen.
SESSION_LOGIN_AT = "accounts_login_at"
SESSION_SEEN_AT = "accounts_seen_at"
# The login page shows this once: why the person was signed out.
SESSION_SIGNED_OUT_REASON = "accounts_signed_out_reason"
# How stale "last seen" may get before a request writes the session again
# (a write on every request would cost a session save per page).
SEEN_RESOLUTION_SECONDS = 60


def _session_store() -> type[SessionBase]:
    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")


# --- Sessions ------------------------------------------------------------------


@transaction.atomic
def session_record(*, request: HttpRequest, user: AbstractBaseUser) -> UserSession | None:
    """Remember a new signed-in session, stamp its start, forget this user's long-dead ones."""
    session = request.session
    now = time.time()
    session[SESSION_LOGIN_AT] = now
    session[SESSION_SEEN_AT] = now
    if session.session_key is None:
        session.save()
    backend = session.get(BACKEND_SESSION_KEY, "")
    method = SignInMethod.SSO if backend.startswith("accounts.oidc") else SignInMethod.PASSWORD
    cutoff = timezone.now() - timedelta(seconds=settings.ACCOUNTS_SESSION_MAX_AGE_SECONDS)
    UserSession.objects.filter(user=user, created_at__lt=cutoff).delete()
    row, _ = UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "method": method,
            "ip_address": client_address(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:255],
        },
    )
    return row


def session_forget(*, session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def session_expiry_reason(*, session: SessionBase, now: float) -> str | None:
    """Why this signed-in session must end now (idle or too old), or None while it may go on."""
    login_at = session.get(SESSION_LOGIN_AT)
    seen_at = session.get(SESSION_SEEN_AT, login_at)
    if not isinstance(login_at, int | float) or not isinstance(seen_at, int | float):
        # Signed in before sign-in kept these stamps: its age is unknown.
        return "Your session has expired. Please sign in again."
    if now - login_at > settings.ACCOUNTS_SESSION_MAX_AGE_SECONDS:
        hours = settings.ACCOUNTS_SESSION_MAX_AGE_SECONDS / 3600
        return f"Your session reached its {hours:g} h limit. Please sign in again."
    if now - seen_at > settings.ACCOUNTS_SESSION_IDLE_SECONDS:
        minutes = settings.ACCOUNTS_SESSION_IDLE_SECONDS / 60
        return f"You were signed out after {minutes:g} minutes without activity."
    return None


def session_touch(*, session: SessionBase, now: float) -> None:
    """Move "last seen" forward, at most once a SEEN_RESOLUTION_SECONDS."""
    if now - session.get(SESSION_SEEN_AT, 0) >= SEEN_RESOLUTION_SECONDS:
        session[SESSION_SEEN_AT] = now


@transaction.atomic
def sessions_sign_out_everywhere(*, user: AbstractBaseUser) -> int:
    """End every signed-in session of ``user`` (this browser's too); how many ended."""
    store = _session_store()
    rows = list(UserSession.objects.select_for_update().filter(user=user))
    for row in rows:
        store(session_key=row.session_key).delete()
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).delete()
    log.info("signed out everywhere", extra={"user_id": user.pk, "sessions": len(rows)})
    return len(rows)


# --- Lockouts ------------------------------------------------------------------


@transaction.atomic
def login_unlock(*, attempts: QuerySet[AccessAttempt], by: AbstractBaseUser | None) -> int:
    """Delete these lockout counters (the admin's Unlock); says who did it in the log."""
    described = list(attempts.values_list("username", "ip_address"))
    count, _ = attempts.delete()
    log.warning(
        "sign-in lockout lifted",
        extra={"by": getattr(by, "pk", None), "attempts": count, "unlocked": described},
    )
    return count


def audit_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Forget sign-ins and failures older than LUKHAS_LOGIN_AUDIT_RETENTION_DAYS, dead sessions."""
    now = now or timezone.now()
    audit_cutoff = now - timedelta(days=settings.ACCOUNTS_AUDIT_RETENTION_DAYS)
    session_cutoff = now - timedelta(seconds=settings.ACCOUNTS_SESSION_MAX_AGE_SECONDS)
    # Counters are axes' (they expire with the cool-off; its handler cleans them).
    purged = {
        "sign_ins": AccessLog.objects.filter(attempt_time__lt=audit_cutoff).delete()[0],
        "failures": AccessFailureLog.objects.filter(attempt_time__lt=audit_cutoff).delete()[0],
        "sessions": UserSession.objects.filter(created_at__lt=session_cutoff).delete()[0],
    }
    log.info("sign-in audit purged", extra=purged)
    return purged


# --- Single sign-on ------------------------------------------------------------


def _claim_groups(claims: dict[str, Any]) -> set[str]:
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list | tuple):
        return {str(item) for item in value}
    return set()


def sso_refusal(*, claims: dict[str, Any]) -> str | None:
    """Why these claims may not sign in (what the person sees), or None when they may."""
    email = str(claims.get("email") or "").strip().lower()
    if not email or "@" not in email:
        return "Your identity provider sent no e-mail address, which LUKHAS Ops needs."
    if claims.get("email_verified") is False:
        return f"Your identity provider has not verified {email}."
    domain = email.rsplit("@", 1)[1]
    allowed_domains = settings.OIDC_ALLOWED_DOMAINS
    if allowed_domains and domain not in allowed_domains:
        return (
            f"{email} may not sign in here: accounts of {domain} are not allowed "
            f"(allowed: {', '.join(allowed_domains)})."
        )
    allowed_groups = settings.OIDC_ALLOWED_GROUPS
    if allowed_groups and not _claim_groups(claims) & set(allowed_groups):
        return (
            f"{email} may not sign in here: it is in none of the allowed groups "
            f"({', '.join(allowed_groups)})."
        )
    return None


def sso_username(claims: dict[str, Any]) -> str:
    """An SSO user's username is their e-mail address, lower-cased."""
    return str(claims.get("email") or "").strip().lower()[:150]


def _permissions(names: set[str]) -> list[Permission]:
    """Permissions by 'app_label.codename'; an unknown one is logged (and is accounts.E001)."""
    found = []
    for name in sorted(names):
        app_label, _, codename = name.partition(".")
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is None:
            log.error("OIDC group map names an unknown permission", extra={"permission": name})
            continue
        found.append(permission)
    return found


@transaction.atomic
def sso_user_sign_in(*, claims: dict[str, Any]) -> AbstractBaseUser:
    """Create or update the user of these (already accepted) claims, with the mapped rights.

    The identity provider is the source of truth for what the mapping covers:
    groups and permissions named in LUKHAS_OIDC_GROUP_MAP are added or taken
    away on every sign-in; groups and permissions the map does not name are
    left alone. Staff and superuser follow the map.
    """
    user_model = get_user_model()
    username = sso_username(claims)
    user, created = user_model.objects.select_for_update().get_or_create(
        username=username, defaults={"email": username}
    )
    if created:
        user.set_unusable_password()
    user.email = username
    user.first_name = str(claims.get("given_name") or user.first_name)[:150]
    user.last_name = str(claims.get("family_name") or user.last_name)[:150]

    group_map = settings.OIDC_GROUP_MAP
    member_of = _claim_groups(claims)
    granted = [rule for idp_group, rule in group_map.items() if idp_group in member_of]
    user.is_staff = any(rule.get("staff", False) for rule in granted)
    user.is_superuser = any(rule.get("superuser", False) for rule in granted)
    user.save()

    mapped_groups = {name for rule in group_map.values() for name in rule.get("groups", [])}
    wanted_groups = {name for rule in granted for name in rule.get("groups", [])}
    user.groups.remove(*Group.objects.filter(name__in=mapped_groups - wanted_groups))
    user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in sorted(wanted_groups)))

    mapped_perms = {name for rule in group_map.values() for name in rule.get("permissions", [])}
    wanted_perms = {name for rule in granted for name in rule.get("permissions", [])}
    user.user_permissions.remove(*_permissions(mapped_perms - wanted_perms))
    user.user_permissions.add(*_permissions(wanted_perms))
    log.info(
        "single sign-on user provisioned" if created else "single sign-on user updated",
        extra={
            "user_id": user.pk,
            "groups": sorted(wanted_groups),
            "permissions": sorted(wanted_perms),
        },
    )
    return user

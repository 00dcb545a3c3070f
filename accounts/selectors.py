"""Reads of sign-in: a user's sessions, the API keys they created, their recent sign-ins."""

from __future__ import annotations

from axes.models import AccessFailureLog, AccessLog
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from accounts.models import UserSession
from guardian.models import APIKey

RECENT = 10
# What the user's page shows of a key (never its hash).
KEY_COLUMNS = (
    "name", "public_id", "scopes", "revoked", "revoked_at", "expires_at",
    "last_used_at", "created_at", "tenant__slug",
)  # fmt: skip


def sessions_of(user: AbstractBaseUser) -> QuerySet[UserSession]:
    return UserSession.objects.filter(user=user).order_by("-created_at")


def api_keys_created_by(user: AbstractBaseUser) -> QuerySet[APIKey]:
    """The keys this user minted (live and revoked): Guardian's selectors have no such read."""
    return (
        APIKey.objects.filter(created_by=user)
        .select_related("tenant")
        .only(*KEY_COLUMNS)
        .order_by("-created_at")
    )


def recent_sign_ins(username: str, *, limit: int = RECENT) -> QuerySet[AccessLog]:
    return AccessLog.objects.filter(username=username).order_by("-attempt_time")[:limit]


def recent_failures(username: str, *, limit: int = RECENT) -> QuerySet[AccessFailureLog]:
    return AccessFailureLog.objects.filter(username=username).order_by("-attempt_time")[:limit]

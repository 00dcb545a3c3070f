"""Guardian's records: tenants, API keys, the denial audit, limiter and idempotency state.

An API key is stored only as a keyed hash of its plaintext, next to a short
public id that is safe to show (``lk-<public_id>``). Writes go through
``guardian.services``; nothing here saves itself.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from lukhas_site.models import TimeStampedModel

KEY_PREFIX = "lk-"


class Scope(models.TextChoices):
    """Every scope a key can hold, one per kind of operation."""

    MODELS_READ = "models:read", "models:read: list and read models"
    RESPONSES_WRITE = "responses:write", "responses:write: create responses and chat completions"
    EMBEDDINGS_WRITE = "embeddings:write", "embeddings:write: create embeddings"
    INDEXES_READ = "indexes:read", "indexes:read: read memory indexes and items"
    INDEXES_WRITE = "indexes:write", "indexes:write: create and change memory indexes"
    DREAMS_WRITE = "dreams:write", "dreams:write: submit dream jobs"
    OPS_READ = "ops:read", "ops:read: read the ops API"
    OPS_WRITE = "ops:write", "ops:write: change data through the ops API"
    JOBS_READ = "jobs:read", "jobs:read: read jobs, their steps and progress"
    JOBS_WRITE = "jobs:write", "jobs:write: approve, reject, cancel and retry jobs"


ALL_SCOPES: frozenset[str] = frozenset(Scope.values)


class Tenant(TimeStampedModel):
    """Who a key belongs to; its limits are shared by all of its keys (null: no shared limit)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=100,
        unique=True,
        help_text="Stable id used by policies (tenant overrides match it) and by limits.",
    )
    is_active = models.BooleanField(
        default=True, help_text="An inactive tenant's keys are refused (401)."
    )
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True)
    daily_token_quota = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class APIKey(TimeStampedModel):
    """A bearer key: shown once, stored as an HMAC of its plaintext."""

    name = models.CharField(max_length=100)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="api_keys")
    public_id = models.CharField(max_length=16, unique=True, editable=False)
    # HMAC-SHA256(pepper, plaintext), hex. Never the plaintext.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list, blank=True)
    requests_per_minute = models.PositiveIntegerField(default=60)
    tokens_per_minute = models.PositiveIntegerField(default=100_000)
    daily_token_quota = models.PositiveIntegerField(default=1_000_000)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(requests_per_minute__gt=0)
                & Q(tokens_per_minute__gt=0)
                & Q(daily_token_quota__gt=0),
                name="guardian_apikey_limits_positive",
            ),
            models.CheckConstraint(
                condition=Q(revoked=False) | Q(revoked_at__isnull=False),
                name="guardian_apikey_revoked_has_time",
            ),
        ]
        indexes = [
            # The admin's and revoke_api_key's lookup by name among live keys.
            models.Index(fields=["name", "revoked"], name="guardian_key_name_live"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.name})"

    @property
    def prefix(self) -> str:
        """The public part of the key (safe to show anywhere)."""
        return f"{KEY_PREFIX}{self.public_id}"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes or ())

    def is_expired(self, now: object = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class DenialKind(models.TextChoices):
    POLICY = "policy", "policy"
    RATE_LIMIT = "rate_limit", "rate limit"
    QUOTA = "quota", "quota"
    AUTHENTICATION = "authentication", "authentication"


class Denial(models.Model):
    """A sampled refusal, for maintainers to read (never edited)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=DenialKind.choices)
    action = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=64)
    # False: the policy is permissive and let the request through anyway.
    enforced = models.BooleanField(default=True)
    policy = models.CharField(max_length=64, blank=True)
    principal_kind = models.CharField(max_length=16, blank=True)
    api_key = models.ForeignKey(
        APIKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="denials"
    )
    key_prefix = models.CharField(max_length=24, blank=True)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="denials"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    method = models.CharField(max_length=10, blank=True)
    route = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The admin's "denials of this key, newest first".
            models.Index(fields=["api_key", "-created_at"], name="guardian_denial_key_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.reason} {self.action} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class PolicyOverride(TimeStampedModel):
    """What a maintainer switched in the admin on top of a policy file.

    Every process re-reads this row (and the file's mtime) every few seconds,
    so a kill switch flipped here stops traffic everywhere without a deploy.
    """

    policy = models.CharField(max_length=64, unique=True)
    kill_switch = models.BooleanField(
        default=False, help_text="Deny every decision of this policy (reason: kill_switch)."
    )
    note = models.TextField(blank=True, help_text="Why it was switched, for the next reader.")
    reload_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = "policy switch"
        verbose_name_plural = "policy switches"

    def __str__(self) -> str:
        return f"{self.policy}{' (KILLED)' if self.kill_switch else ''}"


class RateBucket(models.Model):
    """One token bucket or daily counter of the embedded (database) limiter.

    With Redis the same state lives in Redis hashes; without it, every local
    process shares these rows, updated under a row lock (SQLite: the write
    transaction) so limits hold across processes.
    """

    key = models.CharField(max_length=200, primary_key=True)
    tokens = models.FloatField()
    updated_ms = models.BigIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}={self.tokens:.2f}"


class IdempotencyState(models.TextChoices):
    IN_FLIGHT = "in_flight", "in flight"
    DONE = "done", "done"


class IdempotencyRecord(models.Model):
    """A stored response for an Idempotency-Key (embedded mode; Redis otherwise)."""

    scope = models.CharField(max_length=40)
    key_hash = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=IdempotencyState.choices)
    # Who holds the in-flight lock, so only the holder stores or releases.
    owner = models.CharField(max_length=32)
    lock_expires_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=list, blank=True)
    body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key_hash"], name="guardian_idem_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}/{self.key_hash[:12]} {self.state}"

"""Request and response shapes of the Guardian ops API."""

from __future__ import annotations

from ninja import Field, Schema


class LevelOut(Schema):
    limit: int
    remaining: int
    reset: str = Field(description="Time until the bucket is full again, as OpenAI writes it.")


class KeyOut(Schema):
    prefix: str
    name: str
    tenant: str
    scopes: list[str]
    created_at: str | None
    expires_at: str | None
    last_used_at: str | None


class LimitsOut(Schema):
    requests_per_minute: int
    tokens_per_minute: int
    daily_token_quota: int


class RemainingOut(Schema):
    requests: LevelOut | None
    tokens: LevelOut | None
    daily_tokens: int


class UsageTodayOut(Schema):
    requests: int
    tokens: int


class TenantBudgetOut(Schema):
    slug: str
    name: str
    requests_per_minute: int | None
    tokens_per_minute: int | None
    daily_token_quota: int | None
    remaining_requests: LevelOut | None
    remaining_tokens: LevelOut | None
    tokens_today: int


class PolicyRefOut(Schema):
    name: str
    mode: str


class UserOut(Schema):
    username: str
    is_staff: bool


class MeOut(Schema):
    principal: str = Field(description="api_key or user")
    scopes: list[str]
    key: KeyOut | None = None
    user: UserOut | None = None
    limits: LimitsOut | None = None
    remaining: RemainingOut | None = None
    usage_today: UsageTodayOut | None = None
    tenant: TenantBudgetOut | None = None
    policy: PolicyRefOut | None = None
    degraded: bool = Field(False, description="True while the limiter store is unreachable.")


class UsageIn(Schema):
    tokens: int = Field(..., ge=1, le=100_000_000, description="Tokens the answer used.")
    model: str | None = Field(None, max_length=200)


class UsageOut(Schema):
    charged: int
    usage_today: UsageTodayOut
    remaining: RemainingOut
    degraded: bool


class PolicyOut(Schema):
    name: str
    mode: str
    kill_switch: bool
    not_for_production: bool
    source: str
    actions: list[str]
    error: str | None = None

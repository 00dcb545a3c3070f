"""Guardian's Prometheus collectors (labels bounded: reasons and limits are fixed sets)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# A decision takes a few microseconds; the site's HTTP buckets start at 0.5 ms
# and would put every decision in the first one.
PDP_BUCKETS = (
    0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.0025, 0.01,
)  # fmt: skip

decisions_total = Counter(
    "lukhas_guardian_decisions_total",
    "Policy decisions, by decision (allow/deny) and reason.",
    ["decision", "reason"],
)
pdp_duration_seconds = Histogram(
    "lukhas_guardian_pdp_duration_seconds",
    "Time the policy decision point took to decide, in process.",
    buckets=PDP_BUCKETS,
)
throttled_total = Counter(
    "lukhas_ratelimit_throttled_total",
    "Requests refused with 429, by the limit that refused them.",
    ["limit"],
)
idempotency_total = Counter(
    "lukhas_idempotency_total",
    "Requests with an Idempotency-Key, by what happened to them.",
    ["result"],
)
auth_failures_total = Counter(
    "lukhas_guardian_auth_failures_total",
    "Bearer keys refused, by reason.",
    ["reason"],
)
backend_errors_total = Counter(
    "lukhas_guardian_backend_errors_total",
    "Limiter/idempotency store errors, by operation and what Guardian did (open/closed).",
    ["operation", "outcome"],
)

"""Guardian's periodic housekeeping (scheduled in settings, shown in the admin)."""

from __future__ import annotations

from celery import shared_task

from guardian import services


@shared_task(name="guardian.purge_expired", acks_late=True, time_limit=600, soft_time_limit=570)
def purge_expired() -> dict[str, int]:
    """Delete expired limiter rows and idempotency records, and old denial rows."""
    return services.purge_expired()

"""Sign-in's periodic housekeeping (scheduled in settings, shown in the admin)."""

from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(name="accounts.purge_audit", acks_late=True, time_limit=600, soft_time_limit=570)
def purge_audit() -> dict[str, int]:
    """Delete audit rows older than the retention, and session records past any lifetime."""
    return services.audit_purge()

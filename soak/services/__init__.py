"""Writes of the soak app (re-exported: callers import ``soak.services``).

``runs``: releases, soak runs, snapshots and hours covered; ``sentinel``:
beat's round over the running soaks;
``artifacts``: the day's health artifact; ``notify``: the signed webhook;
``scrapes`` (soak-sources): the embedded source's scrapes, called by the sentinel;
and, from ``soak.load`` (soak-load), the synthetic load (Locust) started, stopped and read.
"""

from soak.load import (
    LoadProcess,
    load_lease_renew,
    load_profile_read,
    load_results,
    load_start,
    load_stop,
    load_wait,
    soak_api_key_ensure,
)
from soak.services.artifacts import health_artifact_write, health_report
from soak.services.notify import (
    SIGNATURE_HEADER,
    notification_body,
    notification_outcome,
    notification_send,
    webhook_deliver,
    webhook_signature,
)
from soak.services.runs import (
    gates_current,
    hours_covered,
    release_ensure,
    release_version,
    snapshot_take,
    soak_abort,
    soak_start,
    window_start,
)
from soak.services.sentinel import sentinel_tick, snapshot_due

__all__ = [
    "SIGNATURE_HEADER",
    "LoadProcess",
    "gates_current",
    "health_artifact_write",
    "health_report",
    "hours_covered",
    "load_lease_renew",
    "load_profile_read",
    "load_results",
    "load_start",
    "load_stop",
    "load_wait",
    "notification_body",
    "notification_outcome",
    "notification_send",
    "release_ensure",
    "release_version",
    "sentinel_tick",
    "snapshot_due",
    "snapshot_take",
    "soak_abort",
    "soak_api_key_ensure",
    "soak_start",
    "webhook_deliver",
    "webhook_signature",
    "window_start",
]

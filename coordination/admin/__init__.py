"""The coordination admin: where a maintainer edits tasks and agents.

Every change to a task goes through ``coordination.services``, like on the board
and in the API: the change form saves fields with ``task_update``, inlines with
the dependency and acceptance services, and the status last with
``task_transition`` (a refusal is shown as a message and the status stays). Bulk
actions (assign owner, set status, mark blocked, approve) go through the same
rules one task at a time and report each refusal.

Importing this package registers every model (Django's autodiscovery imports
``coordination.admin``): ``agents``, ``tasks`` (with ``actions``) and ``records``.
"""

from coordination.admin.actions import BlockedForm, OwnerForm, StatusForm, TaskActionsMixin
from coordination.admin.agents import AgentAdmin, AgentAliasInline, TrackAdmin
from coordination.admin.records import (
    PlanAdmin,
    ReadOnlyAdmin,
    SnapshotAdmin,
    TaskEventAdmin,
    WebhookDeliveryAdmin,
)
from coordination.admin.tasks import (
    STATUS_COLOURS,
    AcceptanceItemInline,
    BlockedFilter,
    DependencyFormSet,
    DependencyInline,
    TaskAdmin,
    TaskAdminForm,
    TaskEventInline,
    status_badge,
)

__all__ = [
    "STATUS_COLOURS",
    "AcceptanceItemInline",
    "AgentAdmin",
    "AgentAliasInline",
    "BlockedFilter",
    "BlockedForm",
    "DependencyFormSet",
    "DependencyInline",
    "OwnerForm",
    "PlanAdmin",
    "ReadOnlyAdmin",
    "SnapshotAdmin",
    "StatusForm",
    "TaskActionsMixin",
    "TaskAdmin",
    "TaskAdminForm",
    "TaskEventAdmin",
    "TaskEventInline",
    "TrackAdmin",
    "WebhookDeliveryAdmin",
    "status_badge",
]

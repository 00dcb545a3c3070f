"""Writes of the coordination app: the only code that changes tasks, agents and snapshots.

The admin, the ops API, the board, the plan importer and the GitHub webhook all
come through here, so the rules hold whoever asks:

- a task moves only along ``TRANSITIONS`` (``task_transition``);
- it cannot start (in progress, in review, done) while a dependency is not done;
- it is done only when every acceptance item is checked and, when it requires a
  critical review, its reviewer approved it (``task_approve``);
- it is blocked only with a reason;
- a dependency that would close a cycle is refused, naming the cycle.

Refusals raise the site's exceptions (``RuleViolation`` 422, ``InvalidRequest``
400, ``NotFound`` 404, ``Conflict`` 409) with a message that says what to fix.
Every change writes a ``TaskEvent``.

The package: ``common`` (actors, events), ``transitions`` (status moves and
approvals; the table itself, ``TRANSITIONS``, sits beside ``TaskStatus`` in
``coordination.models``), ``dependencies``, ``tasks`` (fields and acceptance
items), ``agents`` (and tracks), ``snapshots``, ``plan_import`` (a markdown plan
into tasks) and ``github`` (the webhook's deliveries). Callers import the
writes from ``coordination.services``; lookups (``task_get``) are selectors.
"""

from coordination.services.agents import (
    DEFAULT_AGENTS,
    AgentResolution,
    agent_create,
    agent_resolve,
    track_get_or_create,
)
from coordination.services.common import Actor, task_record_event
from coordination.services.dependencies import (
    DependencyGraph,
    dependency_check,
    task_add_dependency,
    task_remove_dependency,
)
from coordination.services.snapshots import snapshot_take
from coordination.services.tasks import (
    UPDATABLE_FIELDS,
    acceptance_item_add,
    acceptance_item_remove,
    acceptance_item_set,
    task_assign,
    task_create,
    task_update,
)
from coordination.services.transitions import (
    task_approve,
    task_transition,
    transition_check,
)

__all__ = [
    "DEFAULT_AGENTS",
    "UPDATABLE_FIELDS",
    "Actor",
    "AgentResolution",
    "DependencyGraph",
    "acceptance_item_add",
    "acceptance_item_remove",
    "acceptance_item_set",
    "agent_create",
    "agent_resolve",
    "dependency_check",
    "snapshot_take",
    "task_add_dependency",
    "task_approve",
    "task_assign",
    "task_create",
    "task_record_event",
    "task_remove_dependency",
    "task_transition",
    "task_update",
    "track_get_or_create",
    "transition_check",
]

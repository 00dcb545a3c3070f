"""Task dependencies: "blocker blocks blocked" edges, refused when they would close a cycle."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from django.db import transaction

from coordination.models import Task, TaskDependency
from coordination.services.common import Actor, _event
from lukhas_site.errors import RuleViolation

# --------------------------------------------------------------------------- dependencies


class DependencyGraph:
    """Every "blocker blocks blocked" edge, loaded once, to find cycles before adding one."""

    def __init__(self, edges: Iterable[tuple[int, int]] | None = None) -> None:
        self.blocks: dict[int, set[int]] = {}
        if edges is None:
            edges = TaskDependency.objects.values_list("blocker_id", "blocked_id")
        for blocker, blocked in edges:
            self.add(blocker, blocked)

    def add(self, blocker: int, blocked: int) -> None:
        self.blocks.setdefault(blocker, set()).add(blocked)

    def remove(self, blocker: int, blocked: int) -> None:
        self.blocks.get(blocker, set()).discard(blocked)

    def path(self, start: int, goal: int) -> list[int] | None:
        """Task ids from ``start`` to ``goal`` following "blocks" edges, or None."""
        previous: dict[int, int | None] = {start: None}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == goal:
                chain = [node]
                while previous[chain[-1]] is not None:
                    chain.append(previous[chain[-1]])  # type: ignore[arg-type]
                return chain[::-1]
            for nxt in sorted(self.blocks.get(node, ())):
                if nxt not in previous:
                    previous[nxt] = node
                    queue.append(nxt)
        return None


def dependency_check(*, blocker: Task, blocked: Task, graph: DependencyGraph | None = None) -> None:
    """Raise RuleViolation if ``blocker`` may not block ``blocked`` (itself, or a cycle)."""
    if blocker.pk == blocked.pk:
        raise RuleViolation(
            f"{blocked.key} cannot depend on itself.", code="dependency_cycle", param="blocker"
        )
    graph = graph or DependencyGraph()
    back = graph.path(blocked.pk, blocker.pk)
    if back is not None:
        keys = dict(Task.objects.filter(pk__in=back).values_list("pk", "key"))
        cycle = [blocker.key, *(keys[pk] for pk in back)]
        raise RuleViolation(
            f"{blocker.key} cannot block {blocked.key}: that would close the cycle "
            f"{' → '.join(cycle)}. Remove one of those dependencies first.",
            code="dependency_cycle",
            param="blocker",
            details={"cycle": cycle},
        )


def task_add_dependency(
    *,
    blocker: Task,
    blocked: Task,
    by: Actor,
    from_plan: bool = False,
    graph: DependencyGraph | None = None,
) -> TaskDependency:
    """``blocked`` waits for ``blocker``. A cycle is refused with the cycle named."""
    with transaction.atomic():
        existing = TaskDependency.objects.filter(blocker=blocker, blocked=blocked).first()
        if existing is not None:
            return existing
        dependency_check(blocker=blocker, blocked=blocked, graph=graph)
        link = TaskDependency.objects.create(blocker=blocker, blocked=blocked, from_plan=from_plan)
        if graph is not None:
            graph.add(blocker.pk, blocked.pk)
        _event(blocked, by, "dependencies", "", blocker.key, f"now waits for {blocker.key}").save()
    return link


def task_remove_dependency(
    *, blocker: Task, blocked: Task, by: Actor, graph: DependencyGraph | None = None
) -> bool:
    with transaction.atomic():
        deleted, _ = TaskDependency.objects.filter(blocker=blocker, blocked=blocked).delete()
        if deleted:
            if graph is not None:
                graph.remove(blocker.pk, blocked.pk)
            _event(blocked, by, "dependencies", blocker.key, "", "dependency removed").save()
    return bool(deleted)

"""A large synthetic board, for the pinned query-count test and the benchmark.

``bulk_create`` on purpose: this is test data, not a change anyone made, so it
skips the services (and their events) to build thousands of rows in a second.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from coordination.models import (
    AcceptanceItem,
    Agent,
    AgentAlias,
    Plan,
    Priority,
    Risk,
    Snapshot,
    Task,
    TaskDependency,
    TaskStatus,
    Track,
)

STATUS_WEIGHTS = {
    TaskStatus.TODO: 40,
    TaskStatus.IN_PROGRESS: 20,
    TaskStatus.IN_REVIEW: 10,
    TaskStatus.BLOCKED: 8,
    TaskStatus.DONE: 20,
    TaskStatus.CANCELLED: 2,
}


@dataclass(frozen=True)
class BoardSize:
    tasks: int
    agents: int
    dependencies: int
    tracks: int = 8
    snapshots: int = 12


def build_board(size: BoardSize, *, seed: int = 7, prefix: str = "SYN") -> list[Task]:
    """Agents, tracks, tasks (with acceptance items) and an acyclic dependency graph."""
    rng = random.Random(seed)
    agents = Agent.objects.bulk_create(
        Agent(name=f"{prefix} agent {i:03d}", role="executor") for i in range(size.agents)
    )
    AgentAlias.objects.bulk_create(
        AgentAlias(agent=a, alias=a.name, normalized=a.name.lower()) for a in agents
    )
    tracks = Track.objects.bulk_create(
        Track(name=f"{prefix} track {i}", position=i) for i in range(size.tracks)
    )
    plan = Plan.objects.create(source_name=f"{prefix.lower()}-synthetic.md", checksum=prefix * 8)
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    now = timezone.now()
    tasks = []
    for i in range(size.tasks):
        status = rng.choices(statuses, weights)[0]
        low = rng.choice([None, 0.5, 1, 2, 3])
        tasks.append(
            Task(
                key=f"{prefix}-{i + 1}",
                title=f"Synthetic task {i + 1}",
                track=rng.choice(tracks),
                owner=rng.choice(agents) if rng.random() > 0.05 else None,
                reviewer=rng.choice(agents),
                status=status,
                status_changed_at=now - timedelta(hours=rng.randint(0, 96)),
                priority=rng.choice(Priority.values),
                risk=rng.choice(Risk.values),
                estimate_min_hours=low,
                estimate_max_hours=None if low is None else low + rng.choice([0, 1, 2]),
                requires_critical_review=rng.random() < 0.1,
                blocked_reason="waiting" if status == TaskStatus.BLOCKED else "",
                source_plan=plan,
                source_line=i + 1,
            )
        )
    tasks = Task.objects.bulk_create(tasks)
    AcceptanceItem.objects.bulk_create(
        AcceptanceItem(task=t, text=f"criterion {n}", done=rng.random() < 0.5, position=n)
        for t in tasks
        for n in range(rng.randint(0, 2))
    )
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < min(size.dependencies, size.tasks * (size.tasks - 1) // 2):
        a, b = rng.sample(range(size.tasks), 2)
        pairs.add((min(a, b), max(a, b)))  # lower index blocks higher: never a cycle
    TaskDependency.objects.bulk_create(
        TaskDependency(blocker=tasks[a], blocked=tasks[b]) for a, b in sorted(pairs)
    )
    Snapshot.objects.bulk_create(
        Snapshot(
            taken_at=now - timedelta(hours=8 * (size.snapshots - n)),
            task_count=size.tasks,
            open_count=size.tasks - n * size.tasks // (size.snapshots * 3),
            done_count=n * size.tasks // (size.snapshots * 3),
            remaining_hours=float(size.tasks * 2 - n * 10),
        )
        for n in range(size.snapshots)
    )
    return tasks

"""Soaked releases made of model rows, and a driver that runs a flow's steps in-process.

The rows are what soak-core's snapshot_take writes (a run-level GateResult per
gate plus one per snapshot); building them directly lets the promotion tests
choose every gate's phase without waiting 48 hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobs import services as jobs
from jobs.models import JOB_TERMINAL, FlowStep, Job, StepStatus
from soak.models import GateResult, Phase, Release, ReleaseStatus, Snapshot, SoakRun

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# gate id → (comparator, threshold, value per snapshot, final phase)
GOOD = {
    "soak-hours": (">=", 48.0, [24.0, 48.0], Phase.SUCCESSFUL),
    "no-page-alerts": ("==", 0.0, [0.0, 0.0], Phase.SUCCESSFUL),
}


def soaked_release(
    gates: dict | None = None,
    *,
    name: str = "v0.9.0-rc",
    run_phase: str = Phase.SUCCESSFUL,
    advisory: tuple[str, ...] = (),
    load_results: dict | None = None,
) -> tuple[Release, SoakRun]:
    gates = gates or GOOD
    release = Release.objects.create(
        name=name, version=name.lstrip("v").removesuffix("-rc"), status=ReleaseStatus.CANDIDATE
    )
    run = SoakRun.objects.create(
        release=release,
        planned_hours=48,
        phase=run_phase,
        started_at=T0,
        ended_at=T0 + timedelta(hours=48),
        hours_covered=48.0,
        gates_checksum="0" * 64,
        gates_version="t1",
        load_profile={"users": 5, "rate": 5, "mix": {"chat": 1}},
        message=f"run {run_phase}",
    )
    count = max(len(v[2]) for v in gates.values())
    snapshots = [
        Snapshot.objects.create(
            run=run,
            taken_at=T0 + timedelta(hours=24 * (i + 1)),
            complete=True,
            run_phase=Phase.RUNNING if i < count - 1 else run_phase,
            gates_checksum="0" * 64,
            load_results=load_results,
        )
        for i in range(count)
    ]
    for gate_id, (comparator, threshold, values, phase) in gates.items():
        common = {
            "run": run,
            "gate_id": gate_id,
            "title": f"the {gate_id} gate",
            "source": "soak",
            "severity": "major",
            "advisory": gate_id in advisory,
            "comparator": comparator,
            "threshold": threshold,
            "window": "soak",
            "query": f"query of {gate_id}",
        }
        for snapshot, value in zip(snapshots, values, strict=False):
            GateResult.objects.create(
                snapshot=snapshot,
                value=value,
                phase=phase if value is not None else Phase.INCONCLUSIVE,
                **common,
            )
        GateResult.objects.create(snapshot=None, value=values[-1], phase=phase, **common)
    return release, run


def drive(job: Job, *, limit: int = 30) -> Job:
    """Run the queued and waiting steps in this process (no broker) until the job stops moving."""
    for _ in range(limit):
        job.refresh_from_db()
        if job.status in JOB_TERMINAL:
            return job
        open_steps = FlowStep.objects.filter(
            job=job, status__in=[StepStatus.QUEUED, StepStatus.WAITING], kind__in=["task", "wait"]
        )
        moved = False
        for step in open_steps:
            FlowStep.objects.filter(pk=step.pk).update(due_at=None)
            before = FlowStep.objects.get(pk=step.pk).status
            jobs.step_execute(job_id=job.pk, step_name=step.name, worker="test@here")
            moved = moved or FlowStep.objects.get(pk=step.pk).status != before
        if not moved:
            return job
    job.refresh_from_db()
    return job

"""Demo data: a soak of ``v0.9.0-rc`` in progress against this site, with real snapshots.

`make run` loads it once: the release, a 48 h soak of the site itself, and
``DEMO_SNAPSHOTS`` snapshots taken for real by ``snapshot_take`` (the
sources read what they can now; what they cannot read — the site may not be
serving yet while the demo loads — is inconclusive or error, as in a real
soak). Beat's sentinel takes the next ones. No history is made up.
"""

from __future__ import annotations

from collections.abc import Callable

from soak import selectors, services

DEMO_RELEASE = "v0.9.0-rc"
DEMO_HOURS = 48
DEMO_SNAPSHOTS = 2


def load_demo_soak(report: Callable[[str], None]) -> str:
    """Start the demo soak (unless one is going on) and take its first snapshots."""
    active = selectors.active_run()
    if active is not None:
        return f"a soak is already going on ({active.release.name}); nothing added"
    release = services.release_ensure(name=DEMO_RELEASE)
    run = services.soak_start(release=release, planned_hours=DEMO_HOURS, by_label="demo")
    report(f"soak #{run.pk} of {release.name} started ({DEMO_HOURS} h planned, this site)")
    phases = []
    for _ in range(DEMO_SNAPSHOTS):
        snapshot = services.snapshot_take(run=run, by_label="demo")
        counts: dict[str, int] = {}
        for phase in snapshot.gate_results.values_list("phase", flat=True):
            counts[phase] = counts.get(phase, 0) + 1
        phases.append(", ".join(f"{n} {p}" for p, n in sorted(counts.items())))
        report(f"snapshot #{snapshot.pk}: {phases[-1]}")
    return f"{release.name}: soak #{run.pk} running, {len(phases)} real snapshots ({phases[-1]})"

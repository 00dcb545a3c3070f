"""For management commands that start long work: follow the job, or say where to watch it.

    job = services.job_start(kind="plan-import", params=..., by="cli")
    follow_job(job.pk, wait=options["wait"], stdout=self.stdout)

With ``wait`` it draws a tqdm progress bar while it polls the row (the job's
own record, never the result backend) and returns the finished snapshot;
without it prints the job's URL and returns at once.
"""

from __future__ import annotations

import time
from typing import IO, Any

from tqdm import tqdm

from jobs import selectors

POLL_SECONDS = 0.5


def follow_job(
    job_id: int,
    *,
    wait: bool,
    stdout: IO[str],
    timeout: float | None = None,
    poll: float = POLL_SECONDS,
) -> dict[str, Any]:
    """The job's snapshot once it ended (``wait``) or as it is now; raises TimeoutError."""
    snapshot = selectors.job_snapshot(selectors.job_detail(job_id))
    if not wait:
        stdout.write(
            f"job {job_id} ({snapshot['kind']}) is {snapshot['status']}: {snapshot['url']}\n"
        )
        return snapshot
    deadline = None if timeout is None else time.monotonic() + timeout
    total = max(snapshot["progress"]["total"], 1)
    with tqdm(total=total, desc=f"{snapshot['kind']} #{job_id}", file=stdout, leave=True) as bar:
        while True:
            progress = snapshot["progress"]
            if progress["total"] and progress["total"] != bar.total:
                bar.total = progress["total"]
            bar.n = min(progress["done"], bar.total)
            bar.set_postfix_str(f"{snapshot['status']} {progress['message']}"[:60], refresh=False)
            bar.refresh()
            if snapshot["terminal"]:
                return snapshot
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {snapshot['status']} after {timeout:g}s")
            time.sleep(poll)
            snapshot = selectors.job_snapshot(selectors.job_detail(job_id))

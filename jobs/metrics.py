"""Job collectors. Labels: the flow's name (declared in code, so bounded) and the outcome.

Multi-process safe (PROMETHEUS_MULTIPROC_DIR): the counter and histogram add
up across processes; the running gauge is a count read from the database by
whichever process changed a job last ("mostrecent"), so it is right whatever
process set it and survives the worker child that did.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOB_TOTAL = Counter(
    "lukhas_job_total",
    "Jobs finished, by kind (flow) and outcome (succeeded, failed, cancelled).",
    ["kind", "outcome"],
)
JOB_DURATION = Histogram(
    "lukhas_job_duration_seconds",
    "Time from a job's first claim to its end, by kind.",
    ["kind"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0),
)
JOBS_RUNNING = Gauge(
    "lukhas_jobs_running",
    "Jobs a worker is running now, by kind (counted in the database).",
    ["kind"],
    multiprocess_mode="mostrecent",
)

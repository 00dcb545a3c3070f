"""Large plans imported as ``plan-import`` jobs, through a real Celery worker.

One worker for the module (starting one costs seconds). The threshold
(``COORDINATION_PLAN_IMPORT_JOB_BYTES``) is lowered under the fixture plans, so
a 12 KB plan takes the job path; the default leaves them in the request.
"""

from __future__ import annotations

import io
import os
import time

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from coordination.models import Plan, PlanUpload, Task, TaskEvent
from coordination.services.plan_import import plan_import_data, plan_import_start
from jobs import services
from jobs.models import Job, JobStatus, StepStatus
from tests.coordination.conftest import COORDINATION_PLAN, FIXTURE_PLANS
from tests.jobs.conftest import FLOW_ENV, FlowWorker, _purge_broker
from tests.services import require_postgres, worker_env

API = "/api/coordination"
TASKS = 21  # in COORDINATION_PLAN
TERMINAL = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
HOOKS = "tests.coordination.import_worker_hooks"  # an import that pauses when told


@pytest.fixture(scope="module")
def import_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker on the default queue (where plan_import_start sends) for this module."""
    hooks = tmp_path_factory.mktemp("import-hooks")
    with django_db_blocker.unblock():
        env = worker_env(
            **{
                **FLOW_ENV,
                "LUKHAS_FLOW_MODULES": f"{FLOW_ENV['LUKHAS_FLOW_MODULES']},{HOOKS}",
                "COORD_TEST_IMPORT_DIR": str(hooks),
            }
        )
    _purge_broker()
    log = tmp_path_factory.mktemp("import-worker") / "worker.log"
    worker = FlowWorker(env, log_path=log, queue="celery", name=f"imports-{os.getpid()}")
    worker.hooks_dir = hooks
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def small_threshold(settings):
    settings.COORDINATION_PLAN_IMPORT_JOB_BYTES = 1024
    return settings


@pytest.fixture
def writer(api_key_headers):
    return api_key_headers(scopes=["ops:read", "ops:write"])


def wait_for(job: Job, worker: FlowWorker, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in TERMINAL:
            return job
        time.sleep(0.2)
    steps = list(job.steps.values_list("name", "status", "error"))
    raise AssertionError(f"job still {job.status}; {steps}; {job.log[-5:]}\n{worker.output()}")


def upload(client, path, **extra):
    with path.open("rb") as fh:
        return client.post(reverse("coordination-import"), {"file": fh, **extra})


def assert_same_as_a_sync_import(job: Job) -> None:
    """The job wrote what the in-process importer would: importing again changes nothing."""
    assert job.status == JobStatus.SUCCEEDED, (job.error, job.log[-5:])
    assert Task.objects.count() == TASKS
    summary = job.result["steps"]["apply"]
    assert summary["counts"]["created"] == TASKS
    assert summary["summary"].startswith(f"{COORDINATION_PLAN.name}: imported {TASKS} tasks")
    assert (job.progress_done, job.progress_total) == (2 * TASKS, 2 * TASKS)
    again = plan_import_data(
        data=COORDINATION_PLAN.read_bytes(), source_name=COORDINATION_PLAN.name, by="test"
    )
    assert again.counts["unchanged"] == TASKS, again.to_dict()["changes"]


def test_it_imports_a_large_upload_as_a_job(
    transactional_db, import_worker, small_threshold, alice_client, coordinator
):
    response = upload(alice_client, COORDINATION_PLAN)
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("jobs-job", args=[job.pk])
    assert job.kind == "plan-import"
    assert job.started_by == coordinator
    assert job.params["upload"] == PlanUpload.objects.get().pk
    job = wait_for(job, import_worker)
    assert_same_as_a_sync_import(job)
    assert job.result["steps"]["parse"]["tasks"] == TASKS
    page = alice_client.get(response["Location"])
    assert page.status_code == 200
    assert f"job #{job.pk} imports it" in page.content.decode()
    # The tasks' history is signed by the uploader, as in the request.
    assert TaskEvent.objects.filter(user=coordinator).count() >= TASKS


def test_it_answers_202_with_the_job_for_a_large_plan_posted_to_the_api(
    transactional_db, import_worker, small_threshold, client, writer
):
    with COORDINATION_PLAN.open("rb") as fh:
        response = client.post(f"{API}/imports", {"file": fh}, headers=writer)
    assert response.status_code == 202, response.content
    body = response.json()
    job = Job.objects.get(pk=body["job_id"])
    assert body["url"].endswith(f"/jobs/{job.pk}/")
    assert body["progress_url"].endswith(f"/jobs/{job.pk}/progress")
    assert (body["kind"], body["tasks"]) == ("plan-import", TASKS)
    assert_same_as_a_sync_import(wait_for(job, import_worker))
    # A dry run stays in the request, whatever the size.
    with COORDINATION_PLAN.open("rb") as fh:
        dry = client.post(f"{API}/imports", {"file": fh, "dry_run": "true"}, headers=writer)
    assert dry.status_code == 200
    assert dry.json()["counts"]["unchanged"] == TASKS
    assert Job.objects.count() == 1


def test_it_follows_the_job_from_the_cli_with_wait(
    transactional_db, import_worker, small_threshold
):
    out = io.StringIO()
    call_command("import_plan", str(COORDINATION_PLAN), "--wait", "--timeout", "60", stdout=out)
    job = Job.objects.get()
    assert job.status == JobStatus.SUCCEEDED
    text = out.getvalue()
    assert f"plan-import #{job.pk}" in text  # the tqdm bar
    assert f"{COORDINATION_PLAN.name}: imported {TASKS} tasks ({TASKS} created" in text
    assert_same_as_a_sync_import(job)


def test_it_prints_the_job_url_without_wait_and_imports_in_process_with_sync(
    transactional_db, import_worker, small_threshold
):
    out = io.StringIO()
    call_command("import_plan", str(COORDINATION_PLAN), stdout=out, stderr=io.StringIO())
    job = Job.objects.get()
    assert f"/jobs/{job.pk}/" in out.getvalue()
    wait_for(job, import_worker)
    synced = io.StringIO()
    call_command("import_plan", str(COORDINATION_PLAN), "--sync", stdout=synced)
    assert f"0 created, 0 updated, {TASKS} unchanged" in synced.getvalue()
    assert Job.objects.count() == 1


def test_it_refuses_a_large_plan_with_an_error_before_starting_a_job(
    db, settings, alice_client, coordinator
):
    settings.COORDINATION_PLAN_IMPORT_JOB_BYTES = 100
    response = upload(alice_client, FIXTURE_PLANS / "garbled-plan.md")
    assert response.status_code == 400
    assert "Fix that line" in response.content.decode()
    with pytest.raises(CommandError, match="line"):
        call_command("import_plan", str(FIXTURE_PLANS / "garbled-plan.md"), "--wait")
    assert not Job.objects.exists()
    assert not PlanUpload.objects.exists()


def test_it_imports_in_the_request_below_the_threshold(
    db, client, writer, alice_client, coordinator
):
    response = upload(alice_client, COORDINATION_PLAN)
    assert response.status_code == 200
    assert f"imported {TASKS} tasks ({TASKS} created" in response.content.decode()
    with COORDINATION_PLAN.open("rb") as fh:
        api = client.post(f"{API}/imports", {"file": fh}, headers=writer)
    assert api.status_code == 200
    assert api.json()["counts"]["unchanged"] == TASKS
    out = io.StringIO()
    call_command("import_plan", str(COORDINATION_PLAN), stdout=out)
    assert f"0 created, 0 updated, {TASKS} unchanged" in out.getvalue()
    assert not Job.objects.exists()
    assert not PlanUpload.objects.exists()


def synthetic_plan(n: int) -> bytes:
    rows = [f"| IMP-{i} | Imported task {i} | Codex | LOW | 1h | HIGH | |" for i in range(1, n + 1)]
    head = ["# Synthetic plan", "", "## Everything", ""]
    head += [
        "| # | Task | Owner | Risk | Time | Priority | Depends on |",
        "|---|---|---|---|---|---|---|",
    ]
    return ("\n".join(head + rows) + "\n").encode()


def test_it_redoes_the_import_once_after_the_worker_dies_mid_apply(
    transactional_db, import_worker, settings
):
    settings.JOBS_STALE_SECONDS = 2.0  # the test process sweeps, as beat would
    n = 400
    paused = import_worker.hooks_dir / "paused"
    paused.unlink(missing_ok=True)
    (import_worker.hooks_dir / "pause").touch()  # the import pauses half-way (the hooks)
    job = plan_import_start(data=synthetic_plan(n), source_name="big.md", by="test")
    deadline = time.monotonic() + 60
    while not paused.exists():
        assert time.monotonic() < deadline, import_worker.output()
        time.sleep(0.05)
    import_worker.kill()  # half-way through the import's transaction
    assert job.steps.get(name="apply").status == StepStatus.RUNNING
    assert not Task.objects.exists()  # its transaction never committed
    import_worker.start()
    # Sweep until the step is resumed; then not again (on SQLite the rerun's
    # heartbeat waits for the import's write lock, and would look stale at 2 s).
    while job.steps.get(name="apply").attempts < 2:
        assert time.monotonic() < deadline + 60, import_worker.output()
        services.jobs_sweep()
        time.sleep(0.2)
    job = wait_for(job, import_worker)
    assert job.status == JobStatus.SUCCEEDED, (job.error, job.log[-5:])
    assert job.result["steps"]["apply"]["counts"]["created"] == n
    assert Task.objects.count() == n
    assert Plan.objects.get().import_count == 1
    assert any("importing again from the start" in e["line"] for e in job.log)


@pytest.mark.integration
def test_it_moves_the_bar_during_the_import_on_postgresql(transactional_db, import_worker):
    require_postgres()
    n = 1200  # long enough that a 0.1 s poll lands inside the apply on a fast machine
    job = plan_import_start(data=synthetic_plan(n), source_name="live.md", by="test")
    seen: list[tuple[int, int, str]] = []
    deadline = time.monotonic() + 120
    while not job.is_terminal:
        assert time.monotonic() < deadline, import_worker.output()
        job.refresh_from_db()
        apply = job.steps.get(name="apply")
        if apply.status == StepStatus.RUNNING and 0 < job.progress_done < job.progress_total:
            # Mid-import: the bar moved while the transaction has not committed yet.
            seen.append((job.progress_done, Task.objects.count(), job.progress_message))
        time.sleep(0.1)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.progress_done, job.progress_total) == (2 * n, 2 * n)
    assert any(tasks == 0 and message.startswith("task IMP-") for _, tasks, message in seen), seen
    assert Task.objects.count() == n


def test_it_lists_stored_uploads_in_the_admin_without_their_bytes(db, bob_client):
    upload = PlanUpload.objects.create(
        source_name="big.md", sha256="ab" * 32, size=3, data=b"# x", uploaded_by_label="test"
    )
    listing = bob_client.get(reverse("admin:coordination_planupload_changelist"))
    assert listing.status_code == 200 and "big.md" in listing.content.decode()
    page = bob_client.get(reverse("admin:coordination_planupload_change", args=[upload.pk]))
    assert page.status_code == 200 and 'name="data"' not in page.content.decode()

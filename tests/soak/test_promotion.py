"""Promotion: refusals with the failing gates, decided inconclusive gates, the pack, the tag."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import time
import uuid
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.models import JobStatus, StepStatus
from jobs.services import jobs_sweep
from lukhas_site.errors import Conflict, InvalidRequest
from soak import evidence
from soak.models import GateResult, Phase, ReleaseStatus
from soak.services import promotion
from tests.jobs.conftest import FLOW_ENV, HEARTBEAT, STALE, FlowWorker
from tests.services import worker_env
from tests.soak.promotion_helpers import GOOD, drive, soaked_release

pytestmark = pytest.mark.django_db

FAILING = {
    **GOOD,
    "pdp-p95": (">=", 0.95, [0.97, 0.91], Phase.FAILED),
    "guardian-denial-rate": ("<", 0.01, [None, None], Phase.ERROR),
}
INCONCLUSIVE = {**GOOD, "e402-batches": (">=", 2.0, [1.0, None], Phase.INCONCLUSIVE)}


def test_it_refuses_with_each_failing_gate(bob):
    release, _ = soaked_release(FAILING, run_phase=Phase.FAILED)
    with pytest.raises(Conflict) as refused:
        promotion.promotion_start(release=release, by=bob)
    message = refused.value.message
    assert "pdp-p95 failed (>= 0.95, actual 0.91)" in message
    assert "guardian-denial-rate error (< 0.01, actual unknown)" in message
    assert refused.value.code == "promotion_refused"
    failing = {g["gate"]: g for g in refused.value.details["failing_gates"]}
    assert set(failing) == {"pdp-p95", "guardian-denial-rate"}
    assert failing["pdp-p95"]["query"] == "query of pdp-p95"
    release.refresh_from_db()
    assert release.status == ReleaseStatus.CANDIDATE


def test_it_refuses_a_run_still_going_on_and_an_aborted_one(bob):
    release, run = soaked_release(run_phase=Phase.RUNNING)
    with pytest.raises(Conflict, match="still running"):
        promotion.promotion_start(release=release, by=bob)
    run.phase, run.aborted_reason = Phase.ABORTED, "wrong build"
    run.save()
    with pytest.raises(Conflict, match="aborted: wrong build"):
        promotion.promotion_start(release=release, by=bob)


def test_it_ignores_a_failing_advisory_gate(bob):
    gates = {**GOOD, "ruff-trend": ("<=", 120.0, [130.0, 131.0], Phase.FAILED)}
    release, _ = soaked_release(gates, advisory=("ruff-trend",))
    job = drive(promotion.promotion_start(release=release, by=bob))
    assert job.status == JobStatus.SUCCEEDED, job.error


def test_it_promotes_and_builds_the_pack(bob, settings):
    release, _run = soaked_release(load_results={"chat": {"count": 10, "p95": 0.2}})
    job = drive(promotion.promotion_start(release=release, by=bob))
    assert job.status == JobStatus.SUCCEEDED, job.error
    release.refresh_from_db()
    assert release.status == ReleaseStatus.PROMOTED
    assert release.promoted_by == bob and release.promoted_at is not None
    pack = job.result["steps"]["pack-evidence"]
    assert pack["path"] == str(evidence.pack_path(release))
    assert hashlib.sha256(evidence.pack_path(release).read_bytes()).hexdigest() == pack["sha256"]
    # Not asked to tag: nothing tagged.
    assert job.result["steps"]["tag"] == {"tagged": False}
    assert release.git_tag == ""


def test_it_waits_for_a_person_on_an_inconclusive_gate_and_records_why(bob, alice):
    release, run = soaked_release(INCONCLUSIVE, run_phase=Phase.INCONCLUSIVE)
    job = drive(promotion.promotion_start(release=release, by=bob))
    assert job.status == JobStatus.WAITING
    assert job.steps.get(name="approval").status == StepStatus.WAITING
    with pytest.raises(InvalidRequest):
        promotion.gates_decide(release=release, reason="  ", by=alice, job_id=job.pk)
    promotion.gates_decide(
        release=release, reason="E402 batch 2 merged after the snapshot", by=alice, job_id=job.pk
    )
    row = GateResult.objects.get(run=run, snapshot__isnull=True, gate_id="e402-batches")
    assert row.decided_by == alice and row.decided_at is not None
    assert row.decision_reason == "E402 batch 2 merged after the snapshot"
    job = drive(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert any("alice decided e402-batches may pass" in e["line"] for e in job.log)
    decided = job.result["steps"]["approval"]["decided"]
    assert [d["gate"] for d in decided] == ["e402-batches"]
    # The decision is in the pack's gate table too.
    with zipfile.ZipFile(evidence.pack_path(release)) as archive:
        gates = json.loads(archive.read("gates.json"))
        table = archive.read("gates.md").decode()
    entry = next(g for g in gates["gates"] if g["gate"] == "e402-batches")
    assert entry["decision"]["by"] == "alice"
    assert "alice: E402 batch 2 merged after the snapshot" in table


def test_it_takes_the_reason_at_the_start(bob):
    release, run = soaked_release(INCONCLUSIVE, run_phase=Phase.INCONCLUSIVE)
    job = drive(promotion.promotion_start(release=release, by=bob, approve_inconclusive="ok"))
    assert job.status == JobStatus.SUCCEEDED, job.error
    row = GateResult.objects.get(run=run, snapshot__isnull=True, gate_id="e402-batches")
    assert (row.decided_by, row.decision_reason) == (bob, "ok")


def test_it_refuses_a_second_promotion_while_one_waits(bob):
    release, _ = soaked_release(INCONCLUSIVE, run_phase=Phase.INCONCLUSIVE)
    drive(promotion.promotion_start(release=release, by=bob))
    with pytest.raises(Conflict, match="being promoted already"):
        promotion.promotion_start(release=release, by=bob)


def test_it_packs_every_member_with_its_checksum(bob, settings, gates_file):
    (settings.SOAK_ARTIFACTS_DIR / "docs/audits/health").mkdir(parents=True)
    (settings.SOAK_ARTIFACTS_DIR / "docs/audits/health/latest.json").write_text('{"ruff": 3}')
    (settings.SOAK_ARTIFACTS_DIR / "docs/audits/health/latest.md").write_text("# health\n")
    release, _run = soaked_release(FAILING, load_results={"chat": {"p95": 0.2}})
    pack = evidence.evidence_pack_build(release=release)
    with zipfile.ZipFile(pack.path) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        listed = {m["name"]: m["sha256"] for m in manifest["members"]}
        # Every member but the manifest is listed, with the sha256 of its bytes.
        assert set(listed) == names - {"manifest.json"}
        for name, digest in listed.items():
            assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
        gates = json.loads(archive.read("gates.json"))
        rows = list(csv.DictReader(io.StringIO(archive.read("snapshots.csv").decode())))
        plot = archive.read("plots/pdp-p95.html").decode()
        assert archive.read("health/latest.json") == b'{"ruff": 3}'
        results = json.loads(archive.read("load/results.json"))
        profile = json.loads(archive.read("load/profile.json"))
        task_status = json.loads(archive.read("task_status.json"))
    assert {
        "gates.md",
        "snapshots.csv",
        "plots/plotly.min.js",
        "plots/soak-hours.html",
        "health/latest.md",
        "task_status.json",
        "gates/gates.yaml",
    } <= names
    assert any(n.startswith("openapi/") and n.endswith(".diff.json") for n in names)
    pdp = next(g for g in gates["gates"] if g["gate"] == "pdp-p95")
    assert (pdp["comparator"], pdp["threshold"], pdp["value"], pdp["phase"]) == (
        ">=",
        0.95,
        0.91,
        "failed",
    )
    assert pdp["query"] == "query of pdp-p95"
    # 2 snapshots of 4 gates; the no-data measurement stays empty, never 0.
    assert len(rows) == 8
    denial = [r for r in rows if r["gate"] == "guardian-denial-rate"]
    assert [r["value"] for r in denial] == ["", ""]
    assert 'src="plotly.min.js"' in plot and "threshold" in plot
    assert [r["results"] for r in results] == [{"chat": {"p95": 0.2}}] * 2
    assert profile["rate"] == 5
    assert "tasks" in task_status
    # The gates file has changed since the run (its checksum differs): said, not hidden.
    assert any("differs" in note for note in manifest["notes"])


def test_it_says_there_is_no_health_report(bob):
    release, _ = soaked_release()
    pack = evidence.evidence_pack_build(release=release)
    with zipfile.ZipFile(pack.path) as archive:
        assert "health/latest.json" not in archive.namelist()
        assert archive.read("health/NO_HEALTH_REPORT.txt").startswith(b"no health report")
        assert "no health report" in json.loads(archive.read("manifest.json"))["notes"]


def _git(repo, *args):
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def repo(tmp_path, settings):
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q")
    _git(
        path,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@x",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "rc",
    )
    settings.RELEASE_REPO = str(path)
    return path


def test_it_tags_an_annotated_release_in_a_repository(bob, repo, monkeypatch):
    monkeypatch.setenv("GIT_COMMITTER_NAME", "LUKHAS")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ops@example.org")
    release, _ = soaked_release()
    job = drive(promotion.promotion_start(release=release, by=bob, tag=True, dry_run=False))
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert _git(repo, "cat-file", "-t", "v0.9.0").strip() == "tag"  # annotated, not light
    message = _git(repo, "tag", "-l", "--format=%(contents)", "v0.9.0")
    assert "v0.9.0-rc promoted to GA 0.9.0" in message
    assert "soak-hours successful (>= 48, actual 48)" in message
    release.refresh_from_db()
    assert release.git_tag == "v0.9.0"
    # Again: the tag exists, which is success (the step is idempotent).
    again = promotion.release_tag(release=release, dry_run=False)
    assert again.created is False and "already exists" in again.message


def test_it_only_prints_the_git_command_in_a_dry_run(bob, repo):
    release, _ = soaked_release()
    job = drive(promotion.promotion_start(release=release, by=bob, tag=True))
    tag = job.result["steps"]["tag"]
    assert tag["dry_run"] is True and tag["command"].startswith(f"git -C {repo} tag -a v0.9.0 -m")
    assert _git(repo, "tag", "-l") == ""


def test_the_command_refuses_with_the_failing_gates(bob):
    soaked_release(FAILING, run_phase=Phase.FAILED)
    with pytest.raises(CommandError) as refused:
        call_command("promote_rc", "v0.9.0-rc")
    text = str(refused.value)
    assert "pdp-p95: failed — needs >= 0.95, actual 0.91 (query of pdp-p95)" in text
    assert "guardian-denial-rate: error — needs < 0.01, actual unknown" in text


def test_the_command_starts_the_job_and_says_where(bob, capsys):
    _release, _ = soaked_release(INCONCLUSIVE, run_phase=Phase.INCONCLUSIVE)
    out = io.StringIO()
    call_command("promote_rc", "v0.9.0-rc", "--approve-inconclusive", "known gap", stdout=out)
    text = out.getvalue()
    assert "Started promotion of v0.9.0-rc (job" in text and "/soak/" in text
    row = GateResult.objects.get(gate_id="e402-batches", snapshot__isnull=True)
    assert row.decision_reason == "known gap"


# --------------------------------------------------------------------------- a real worker


@pytest.fixture
def promoters(transactional_db, settings, tmp_path):
    """Workers on a queue of this test's own, with the pausing pack of promotion_worker_hooks."""
    settings.JOBS_HEARTBEAT_SECONDS, settings.JOBS_STALE_SECONDS = HEARTBEAT, STALE
    queue = f"promotion-{uuid.uuid4().hex[:8]}"
    started: list[FlowWorker] = []
    env = {
        **FLOW_ENV,
        "LUKHAS_FLOW_MODULES": "tests.soak.promotion_worker_hooks",
        "SOAK_TEST_PACK_DIR": str(tmp_path),
        "LUKHAS_SOAK_ARTIFACTS_DIR": str(settings.SOAK_ARTIFACTS_DIR),
    }

    def start(name: str, **extra: str) -> FlowWorker:
        worker = FlowWorker(
            worker_env(**env, **extra), log_path=tmp_path / f"{name}.log", queue=queue, name=name
        )
        started.append(worker.start())
        return worker

    start.queue = queue
    yield start
    for worker in started:
        if worker.proc and worker.proc.poll() is None:
            worker.stop()


def test_the_flow_resumes_after_its_worker_is_killed(promoters, tmp_path):
    release, _ = soaked_release()
    first = promoters("doomed-promoter", SOAK_TEST_PACK_PAUSE="60")
    job = promotion.promotion_start(release=release, queue=promoters.queue)
    runs = tmp_path / "pack.runs"
    deadline = time.monotonic() + 60
    while not runs.exists():  # the pack step has begun its work
        assert time.monotonic() < deadline, first.output()
        time.sleep(0.1)
    first.kill()
    assert not evidence.pack_path(release).exists()
    second = promoters("rescue-promoter")
    deadline = time.monotonic() + 90
    while True:
        job.refresh_from_db()
        if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED):
            break
        assert time.monotonic() < deadline, f"{job.status} {job.log[-5:]}\n{second.output()}"
        jobs_sweep()  # what beat does
        time.sleep(0.3)
    assert job.status == JobStatus.SUCCEEDED, job.error
    pack_step = job.steps.get(name="pack-evidence")
    assert pack_step.attempts == 2 and pack_step.claimed_by.startswith("rescue-promoter@")
    assert len(runs.read_text().splitlines()) == 2
    # The steps before it ran once; the release was promoted once; the pack is whole.
    assert job.steps.get(name="check-gates").attempts == 1
    release.refresh_from_db()
    assert release.status == ReleaseStatus.PROMOTED
    with zipfile.ZipFile(evidence.pack_path(release)) as archive:
        assert archive.testzip() is None and "manifest.json" in archive.namelist()


def test_the_command_waits_and_prints_the_pack_and_the_tag(promoters, tmp_path, settings):
    settings.RELEASE_REPO = str(tmp_path / "repo")  # a dry run only names it
    promoters("promoter", LUKHAS_RELEASE_REPO=settings.RELEASE_REPO)
    release, _ = soaked_release(INCONCLUSIVE, run_phase=Phase.INCONCLUSIVE)
    out = io.StringIO()
    call_command(
        "promote_rc", "v0.9.0-rc", "--approve-inconclusive", "known gap", "--tag", "--wait",
        f"--queue={promoters.queue}", "--timeout=60", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "e402-batches decided by cli: known gap" in text
    assert "v0.9.0-rc is promoted (GA 0.9.0)" in text
    assert f"Evidence pack: {evidence.pack_path(release)}" in text
    assert f"Tag v0.9.0: would run git -C {settings.RELEASE_REPO} tag -a v0.9.0" in text
    assert "/soak/" in text and "/jobs/" in text

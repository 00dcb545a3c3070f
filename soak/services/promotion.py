"""Promotion of a release candidate to GA: the gate check, decisions, the mark and the tag.

The flow (``soak/flows.py``, kind ``promotion``) calls these; the page, the
API and ``manage.py promote_rc`` start it with :func:`promotion_start`.

- **Refused** (Conflict, each failing gate with its threshold, comparator and
  actual value) when the release's latest run is not finished (still
  running, aborted, never soaked) or a blocking gate failed or is in error.
- **Inconclusive** blocking gates need a person: :func:`gates_decide` records
  who and why on the run-level GateResult rows (and in the job's log); the
  flow's ``approval`` step waits until no undecided one is left.
- The evidence pack is ``soak.evidence``; the release is marked promoted;
  the tag is an annotated ``v<version>`` in ``LUKHAS_RELEASE_REPO``, a dry
  run (the command printed) unless asked otherwise.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from jobs import selectors as job_selectors
from jobs import services as jobs
from jobs.models import JOB_ACTIVE, Job
from lukhas_site.errors import Conflict, InvalidRequest
from soak import selectors
from soak.models import GateResult, Phase, Release, ReleaseStatus, SoakRun

log = logging.getLogger(__name__)

FLOW = "promotion"
# A run in one of these may be promoted (inconclusive only with decisions).
PROMOTABLE_PHASES = (Phase.SUCCESSFUL, Phase.INCONCLUSIVE)
BLOCKING_BAD = (Phase.FAILED, Phase.ERROR)
UNDECIDED = (Phase.INCONCLUSIVE, Phase.PENDING, Phase.RUNNING)
GIT_TIMEOUT_SECONDS = 30


def shown(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}"


def gate_line(row: GateResult) -> str:
    """'pdp-p95 failed (>= 0.95, actual 0.91)': the explanation of one gate."""
    return (
        f"{row.gate_id} {row.phase} ({row.comparator} {row.threshold:g}, actual {shown(row.value)})"
    )


def gate_dict(row: GateResult) -> dict[str, Any]:
    return {
        "gate": row.gate_id,
        "title": row.title,
        "phase": row.phase,
        "value": row.value,
        "comparator": row.comparator,
        "threshold": row.threshold,
        "severity": row.severity,
        "advisory": row.advisory,
        "source": row.source,
        "query": row.query,
        "message": row.message,
        "decided_by": row.decided_by.get_username() if row.decided_by_id else None,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "decision_reason": row.decision_reason or None,
    }


@dataclass
class PromotionCheck:
    """What the gates say about promoting ``release`` (its latest run)."""

    release: Release
    run: SoakRun | None
    gates: list[GateResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    failing: list[GateResult] = field(default_factory=list)
    undecided: list[GateResult] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.problems or self.failing)

    @property
    def needs_approval(self) -> bool:
        return bool(self.undecided)

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release.name,
            "run": self.run.pk if self.run else None,
            "run_phase": self.run.phase if self.run else None,
            "problems": self.problems,
            "failing_gates": [gate_dict(row) for row in self.failing],
            "undecided_gates": [row.gate_id for row in self.undecided],
            "gates": [gate_dict(row) for row in self.gates],
        }

    def refusal(self) -> Conflict:
        lines = [*self.problems]
        if self.failing:
            lines.append(
                "blocking gates failed or in error: "
                + "; ".join(gate_line(r) for r in self.failing)
            )
        return Conflict(
            f"Promotion of {self.release.name} refused: " + "; ".join(lines),
            code="promotion_refused",
            param="release",
            details={
                "problems": self.problems,
                "failing_gates": [gate_dict(row) for row in self.failing],
            },
        )


def _latest_run(release: Release) -> SoakRun | None:
    return SoakRun.objects.filter(release=release).order_by("-created_at", "-pk").first()


def promotion_check(*, release: Release) -> PromotionCheck:
    """Read the latest run's gates; never writes. ``refused`` says whether to stop."""
    run = _latest_run(release)
    check = PromotionCheck(release=release, run=run)
    if release.status == ReleaseStatus.PROMOTED:
        check.problems.append(f"{release.name} is already promoted")
        return check
    if run is None:
        check.problems.append(f"{release.name} was never soaked")
        return check
    check.gates = list(
        selectors.run_gate_results(run).select_related("decided_by").order_by("gate_id")
    )
    blocking = [row for row in check.gates if not row.advisory]
    check.failing = [row for row in blocking if row.phase in BLOCKING_BAD]
    check.undecided = [row for row in blocking if row.phase in UNDECIDED and not row.decided_at]
    if run.phase in (Phase.PENDING, Phase.RUNNING):
        check.problems.append(
            f"run #{run.pk} is still {run.phase} ({run.hours_covered:.2f} of "
            f"{run.planned_hours} planned hours covered); promote a finished run"
        )
    elif run.phase == Phase.ABORTED:
        check.problems.append(f"run #{run.pk} was aborted: {run.aborted_reason or run.message}")
    elif run.phase not in PROMOTABLE_PHASES and not check.failing:
        check.problems.append(f"run #{run.pk} ended {run.phase}: {run.message}")
    if not blocking:
        check.problems.append(f"run #{run.pk} has no blocking gate result: nothing says GA")
    return check


def gates_decide(
    *,
    release: Release,
    reason: str,
    by: AbstractBaseUser | None,
    job_id: int | None = None,
) -> list[GateResult]:
    """A person decides the undecided blocking gates of the latest run, with a reason.

    Records ``decided_by``/``decided_at``/``decision_reason`` on each run-level
    row (a row decided before keeps its decision) and a line in the job's log.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("say why the inconclusive gates may pass", param="reason")
    check = promotion_check(release=release)
    if check.refused:
        raise check.refusal()
    if not check.undecided:
        raise Conflict(
            f"{release.name} has no inconclusive blocking gate to decide", code="nothing_to_decide"
        )
    now = timezone.now()
    ids = [row.pk for row in check.undecided]
    with transaction.atomic():
        GateResult.objects.filter(pk__in=ids, decided_at__isnull=True).update(
            decided_by=by, decided_at=now, decision_reason=reason[:2000], updated_at=now
        )
        who = by.get_username() if by is not None else "cli"
        names = ", ".join(row.gate_id for row in check.undecided)
        if job_id is not None:
            jobs.job_log(
                job_id=job_id, step="approval", line=f"{who} decided {names} may pass: {reason}"
            )
    log.info("promotion of %s: %s decided %s", release.name, who, names)
    return list(GateResult.objects.filter(pk__in=ids).order_by("gate_id"))


def promotion_job(release: Release) -> Job | None:
    """The release's promotion job going on, if any."""
    return (
        job_selectors.jobs_for(release).filter(kind=FLOW, status__in=JOB_ACTIVE).order_by("-pk")
    ).first()


def promotion_start(
    *,
    release: Release,
    by: AbstractBaseUser | None = None,
    approve_inconclusive: str = "",
    tag: bool = False,
    dry_run: bool | None = None,
    queue: str = "",
) -> Job:
    """Start the promotion flow, or refuse at once with the failing gates (Conflict).

    ``approve_inconclusive``: the reason a person gives for letting the
    inconclusive gates pass; without it the flow waits at its approval step.
    """
    check = promotion_check(release=release)
    if check.refused:
        raise check.refusal()
    if tag and not settings.RELEASE_REPO:
        raise InvalidRequest("tagging needs LUKHAS_RELEASE_REPO (a git repository)", param="tag")
    running = promotion_job(release)
    if running is not None:
        raise Conflict(
            f"{release.name} is being promoted already (job {running.pk}, {running.status})",
            code="promotion_running",
        )
    if approve_inconclusive.strip() and check.undecided:
        gates_decide(release=release, reason=approve_inconclusive, by=by)
    params = {
        "release": release.pk,
        "tag": bool(tag),
        "dry_run": settings.RELEASE_TAG_DRY_RUN if dry_run is None else bool(dry_run),
        "by": by.pk if by is not None else None,
    }
    job = jobs.job_start(kind=FLOW, params=params, target=release, by=by or "cli", queue=queue)
    if approve_inconclusive.strip() and check.undecided:
        jobs.job_log(
            job_id=job.pk,
            step="approval",
            line=f"inconclusive gates decided at start: {approve_inconclusive.strip()}",
        )
    return job


def release_mark_promoted(*, release: Release, by_id: int | None = None) -> Release:
    """Mark the release promoted (idempotent: a promoted release stays as it was)."""
    now = timezone.now()
    user = get_user_model().objects.filter(pk=by_id).first() if by_id else None
    Release.objects.filter(pk=release.pk).exclude(status=ReleaseStatus.PROMOTED).update(
        status=ReleaseStatus.PROMOTED, promoted_at=now, promoted_by=user, updated_at=now
    )
    release.refresh_from_db()
    return release


@dataclass(frozen=True)
class TagOutcome:
    tag: str
    command: str
    dry_run: bool
    created: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "command": self.command,
            "dry_run": self.dry_run,
            "created": self.created,
            "message": self.message,
        }


def tag_message(release: Release, gates: list[GateResult]) -> str:
    """The annotated tag's message: the release and every gate with its verdict."""
    lines = [f"{release.name} promoted to GA {release.version}", "", "GA gates:"]
    for row in gates:
        decided = f" — decided by a person: {row.decision_reason}" if row.decided_at else ""
        flag = " (advisory)" if row.advisory else ""
        lines.append(f"- {gate_line(row)}{flag}{decided}")
    return "\n".join(lines) + "\n"


def _git(repo: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["git", "-C", repo, *args],  # noqa: S607 - git from PATH, as a person runs it
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_SECONDS,
        check=False,
    )


def release_tag(*, release: Release, dry_run: bool, repo: str | None = None) -> TagOutcome:
    """Tag ``v<version>`` (annotated, the gates in its message) at the release's git ref.

    Idempotent: a tag that already exists is success. A dry run runs nothing
    and returns the command it would run.
    """
    repo = repo if repo is not None else settings.RELEASE_REPO
    if not repo:
        raise InvalidRequest("no LUKHAS_RELEASE_REPO to tag in", param="tag")
    name = f"v{release.version.lstrip('vV')}"
    run = _latest_run(release)
    gates = list(selectors.run_gate_results(run)) if run is not None else []
    message = tag_message(release, gates)
    argv = ["git", "-C", repo, "tag", "-a", name, "-m", message]
    if release.git_ref:
        argv.append(release.git_ref)
    command = shlex.join(argv)
    if dry_run:
        return TagOutcome(name, command, True, False, "dry run: nothing was tagged")
    exists = _git(repo, "rev-parse", "-q", "--verify", f"refs/tags/{name}")
    if exists.returncode == 0:
        created = False
        outcome = f"{name} already exists in {repo}"
    else:
        done = _git(repo, *argv[3:])
        if done.returncode != 0:
            raise Conflict(f"git tag {name} failed in {repo}: {done.stderr.strip()}")
        created = True
        outcome = f"tagged {name} in {repo}"
    Release.objects.filter(pk=release.pk).update(git_tag=name, updated_at=timezone.now())
    return TagOutcome(name, command, False, created, outcome)

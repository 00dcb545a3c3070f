"""``manage.py promote_rc RELEASE [--approve-inconclusive REASON] [--tag] [--wait]``.

Starts the promotion flow as a job (soak/flows.py) and follows it with a
progress bar (``--wait``) or prints where to watch it. A refusal (failing
gates, a run not finished) exits non-zero with each failing gate.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.cli import follow_job
from lukhas_site.errors import LukhasError
from soak import evidence, selectors
from soak.management.commands._output import page_url
from soak.models import Release
from soak.services import promotion


class Command(BaseCommand):
    help = (
        "Promote a soaked release candidate to GA: check its gates, record the decision on "
        "inconclusive ones, build the evidence pack, mark it promoted, optionally tag it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("release", help="e.g. v0.9.0-rc")
        parser.add_argument(
            "--approve-inconclusive",
            default="",
            metavar="REASON",
            help="Let the inconclusive blocking gates pass, for this reason (recorded).",
        )
        parser.add_argument(
            "--tag", action="store_true", help="Tag v<version> in LUKHAS_RELEASE_REPO."
        )
        dry = parser.add_mutually_exclusive_group()
        dry.add_argument("--dry-run", dest="dry_run", action="store_true", default=None)
        dry.add_argument(
            "--no-dry-run",
            dest="dry_run",
            action="store_false",
            help="Really tag (default: LUKHAS_RELEASE_TAG_DRY_RUN, true unless set).",
        )
        parser.add_argument("--wait", action="store_true", help="Follow the job to its end.")
        parser.add_argument("--timeout", type=float, default=None, help="Seconds to --wait.")
        parser.add_argument("--queue", default="", help="Celery queue of the job's steps.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            release = selectors.release_by_name(options["release"])
            job = promotion.promotion_start(
                release=release,
                approve_inconclusive=options["approve_inconclusive"],
                tag=options["tag"],
                dry_run=options["dry_run"],
                queue=options["queue"],
            )
        except LukhasError as exc:
            lines = [exc.message]
            for gate in exc.details.get("failing_gates", []):
                value = "unknown" if gate["value"] is None else f"{gate['value']:g}"
                lines.append(
                    f"  {gate['gate']}: {gate['phase']} — needs {gate['comparator']} "
                    f"{gate['threshold']:g}, actual {value} ({gate['query'] or gate['source']})"
                )
            raise CommandError("\n".join(lines)) from None
        self.stdout.write(f"Started promotion of {release.name} (job {job.pk}).\n")
        try:
            snapshot = follow_job(
                job.pk, wait=options["wait"], stdout=self.stdout, timeout=options["timeout"]
            )
        except TimeoutError as exc:
            raise CommandError(str(exc)) from None
        if options["wait"]:
            self._report(snapshot, release.pk)
        self.stdout.write(
            f"Open {page_url()} (job {settings.JOBS_BASE_URL.rstrip('/')}/jobs/{job.pk}/)\n"
        )

    def _report(self, snapshot: dict[str, Any], release_pk: int) -> None:
        steps = (snapshot.get("result") or {}).get("steps", {})
        if snapshot["status"] != "succeeded":
            raise CommandError(
                f"promotion job {snapshot['id']} {snapshot['status']}: "
                f"{snapshot.get('error') or 'see the job page'}"
            )
        release = Release.objects.get(pk=release_pk)
        decided = (steps.get("approval") or {}).get("decided") or []
        for gate in decided:
            self.stdout.write(
                f"  {gate['gate']} decided by {gate['decided_by'] or 'cli'}: "
                f"{gate['decision_reason']}\n"
            )
        pack = steps.get("pack-evidence") or {}
        self.stdout.write(
            f"{release.name} is {release.status} (GA {release.version}).\n"
            f"Evidence pack: {pack.get('path') or evidence.pack_path(release)}"
            f" (sha256 {pack.get('sha256', 'unknown')})\n"
        )
        tag = steps.get("tag") or {}
        if tag.get("command"):
            state = "would run" if tag.get("dry_run") else "ran"
            self.stdout.write(f"Tag {tag['tag']}: {state} {tag['command']}\n  {tag['message']}\n")
        else:
            self.stdout.write("No tag (use --tag with LUKHAS_RELEASE_REPO).\n")

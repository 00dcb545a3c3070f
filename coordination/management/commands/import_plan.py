"""``manage.py import_plan PLAN.md [--dry-run] [--format json] [--max-bytes N] [--wait | --sync]``.

A plan larger than ``LUKHAS_PLAN_IMPORT_JOB_BYTES`` (256 KiB by default) is
imported by a ``plan-import`` job, as from the upload form: the command prints
the job's URL, or with ``--wait`` follows it with a progress bar and prints the
summary (exit 1 unless it succeeded). ``--sync`` imports in this process, as
below the threshold; a dry run always does.

The same size limit as the upload form and ``POST /api/coordination/imports``
(``LUKHAS_COORD_UPLOAD_MAX_BYTES``, 2 MiB by default), checked before the plan is
read and while it is read (stdin has no size): a 50 MB plan once took 3.8 GB of
memory and three minutes before failing. ``--max-bytes`` raises it on purpose.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from coordination.services.plan_import import (
    ImportReport,
    plan_import_data,
    plan_import_runs_as_job,
    plan_import_start,
)
from jobs.cli import follow_job
from lukhas_site.errors import LukhasError


class Command(BaseCommand):
    help = (
        "Import a markdown plan (see docs/plan-format.md). Tasks are matched by key, so "
        "importing again updates them. Nothing is written when the plan has an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the plan, a markdown file ('-' reads stdin)")
        parser.add_argument(
            "--dry-run", action="store_true", help="write nothing; show what would change"
        )
        parser.add_argument(
            "--format", choices=("text", "json"), default="text", help="output on stdout"
        )
        parser.add_argument("--name", help="source name to record (default: the file name)")
        parser.add_argument(
            "--plan",
            default="",
            help="the plan (key space) to import into, by slug (default: from the file name)",
        )
        parser.add_argument(
            "--prefer-plan",
            action="store_true",
            help="on a conflict (a field changed on the board and in the plan since the last "
            "import) take the plan's value; by default the board's stays",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--wait",
            action="store_true",
            help="a plan imported as a job: follow it with a progress bar until it ends",
        )
        mode.add_argument(
            "--sync",
            action="store_true",
            help="import in this process even above LUKHAS_PLAN_IMPORT_JOB_BYTES (no job)",
        )
        parser.add_argument(
            "--timeout", type=float, default=None, help="with --wait: give up after S seconds"
        )
        parser.add_argument(
            "--max-bytes",
            type=_positive_int,
            default=None,
            help="refuse a larger plan (default: LUKHAS_COORD_UPLOAD_MAX_BYTES, the API's limit)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        limit = options["max_bytes"] or settings.COORDINATION_UPLOAD_MAX_BYTES
        too_big = (
            f"the plan is larger than the limit of {limit:,} bytes (raise it with "
            "--max-bytes if you mean it); nothing was imported"
        )
        if path == "-":
            name = options["name"] or "stdin.md"
            data = sys.stdin.buffer.read(limit + 1)
        else:
            file = Path(path)
            if not file.is_file():
                raise CommandError(f"{path}: no such file")
            name = options["name"] or file.name
            size = file.stat().st_size
            if size > limit:
                raise CommandError(f"{name}: {size:,} bytes: {too_big}")
            with file.open("rb") as stream:
                data = stream.read(limit + 1)  # the file may grow after the stat
        if len(data) > limit:
            raise CommandError(f"{name}: {too_big}")
        if not options["sync"] and plan_import_runs_as_job(len(data), dry_run=options["dry_run"]):
            self._as_job(data, name, options)
            return
        bar = tqdm(
            total=0,
            desc=f"import {name}",
            unit="step",
            file=sys.stderr,
            leave=False,
            disable=options.get("verbosity", 1) == 0,
        )

        def progress(done: int, total: int, message: str = "") -> None:
            if bar.total != total:
                bar.reset(total=total)
            bar.update(done - bar.n)  # tqdm throttles the redraws itself

        try:
            report = plan_import_data(
                data=data,
                source_name=name,
                by=f"import_plan:{name}",
                dry_run=options["dry_run"],
                progress=progress,
                plan_slug=options["plan"],
                prefer_plan=options["prefer_plan"],
            )
        except LukhasError as exc:  # a plan error or a database refusal, with its line
            message = exc.message.removesuffix("; nothing was imported.")
            raise CommandError(f"{name}: {message}; nothing was imported") from None
        finally:
            bar.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        else:
            self._write_text(report)

    def _as_job(self, data: bytes, name: str, options: dict[str, Any]) -> None:
        """Start the plan-import job; follow it (``--wait``) or say where it is."""
        try:
            job = plan_import_start(
                data=data,
                source_name=name,
                by=f"import_plan:{name}",
                plan_slug=options["plan"],
                prefer_plan=options["prefer_plan"],
            )
        except LukhasError as exc:
            raise CommandError(f"{name}: {exc.message}; nothing was imported") from None
        if options["verbosity"] and not options["wait"]:
            self.stderr.write(f"{name}: {len(data):,} bytes, imported by a job")
        try:
            snapshot = follow_job(
                job.pk, wait=options["wait"], stdout=self.stdout, timeout=options["timeout"]
            )
        except TimeoutError as exc:
            raise CommandError(f"{exc}; it goes on: manage.py job_status {job.pk}") from None
        if not options["wait"]:
            return
        if snapshot["status"] != "succeeded":
            raise CommandError(
                f"job {job.pk} {snapshot['status']}: {snapshot['error']}; nothing was imported"
            )
        summary = snapshot["result"]["steps"]["apply"]
        if options["format"] == "json":
            self.stdout.write(json.dumps({"job": job.pk, **summary}, indent=2, ensure_ascii=False))
            return
        self.stdout.write(summary["summary"])
        for warning in summary["warnings"]:
            self.stdout.write(self.style.WARNING(f"  warning: {warning}"))
        for inference in summary.get("inferences", []):
            self.stdout.write(f"  inferred: {inference}")

    def _write_text(self, report: ImportReport) -> None:
        out = self.stdout
        out.write(report.summary())
        if report.dry_run:
            out.write("dry run: nothing was written")
        for agent in report.agents_created:
            out.write(f"  new agent {agent['name']} ({agent['kind']}) from {agent['written']!r}")
        for change in report.tasks:
            if change.action == "unchanged":
                continue
            out.write(f"  {change.action:<9} {change.key}: {change.title}")
            for field, (old, new) in change.changes.items():
                if change.action == "created":
                    out.write(f"      {field}: {_short(new)}")
                else:
                    out.write(f"      {field}: {_short(old)} -> {_short(new)}")
        for conflict in report.conflicts():
            kept = "plan's value taken" if report.prefer_plan else "board's value kept"
            out.write(
                self.style.WARNING(
                    f"  conflict  {conflict['key']} (line {conflict['line']}) "
                    f"{conflict['field']}: board {_short(conflict['board'])}, "
                    f"plan {_short(conflict['plan'])}, last imported "
                    f"{_short(conflict['imported'])}: {kept}"
                )
            )
        unchanged = report.keys("unchanged")
        if unchanged:
            out.write(f"  unchanged {len(unchanged)}: {', '.join(unchanged)}")
        for warning in report.warnings:
            out.write(self.style.WARNING(f"  warning: {warning}"))
        for inference in report.inferences:
            out.write(f"  inferred: {inference}")


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def _short(value: Any, limit: int = 100) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

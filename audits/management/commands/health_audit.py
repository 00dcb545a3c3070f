"""Run a codebase's health audit as a job, follow it, print where the report is.

    manage.py health_audit [--codebase NAME | --config FILE] [--wait] [--github-summary]

Without ``--codebase`` the default lanes config (``LUKHAS_AUDITS_DEFAULT_CONFIG``,
``configs/audits/lukhas.yaml``) is registered (created or updated) and audited.
Exit status: 0 the gate passed, 1 the gate failed or is unknown (with
``--wait``), 2 the audit could not start or its job failed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audits import artifacts, selectors, services
from audits.config import ConfigError
from jobs.cli import follow_job
from lukhas_site.errors import LukhasError


class Command(BaseCommand):
    help = "Audit a codebase's health (tests, ruff, coverage, lanes, supply chain) as a job."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--codebase", default="", help="a registered codebase's name")
        parser.add_argument(
            "--config",
            default="",
            help="a lanes config to register first (default: LUKHAS_AUDITS_DEFAULT_CONFIG)",
        )
        parser.add_argument("--wait", action="store_true", help="follow the job to its end")
        parser.add_argument("--timeout", type=float, default=None, help="seconds to wait at most")
        parser.add_argument(
            "--github-summary",
            action="store_true",
            help="append the report to $GITHUB_STEP_SUMMARY (implies --wait)",
        )
        parser.add_argument("--queue", default="", help="Celery queue of the job's steps")

    def handle(self, *args: Any, **options: Any) -> None:
        wait = options["wait"] or options["github_summary"]
        try:
            name = options["codebase"]
            if not name or options["config"]:
                config = options["config"] or settings.AUDITS_DEFAULT_CONFIG
                name = services.codebase_ensure(config_file=config).name
            report = services.health_audit_start(codebase=name, by="cli", queue=options["queue"])
        except (ConfigError, LukhasError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(f"health report {report.pk} of {name}: job {report.job_id}\n")
        try:
            snapshot = follow_job(
                report.job_id, wait=wait, stdout=self.stdout, timeout=options["timeout"]
            )
        except TimeoutError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if not wait:
            return
        if snapshot["status"] != "succeeded":
            raise CommandError(
                f"the audit job ended {snapshot['status']}: {snapshot.get('error') or ''}",
                returncode=2,
            )
        report = selectors.report_get(report.pk)
        files = report.artifacts.get("files", {})
        base = Path(settings.AUDITS_ARTIFACTS_DIR)
        self.stdout.write(f"gate: {report.status.upper()}\n")
        for key in ("latest_json", "latest_md", "system_health_json", "badge"):
            if key in files:
                self.stdout.write(f"  {key}: {base / files[key]}\n")
        self.stdout.write(f"page: {settings.JOBS_BASE_URL.rstrip('/')}/audits/\n")
        if options["github_summary"]:
            summary = os.environ.get("GITHUB_STEP_SUMMARY", "")
            if not summary:
                raise CommandError(
                    "--github-summary: $GITHUB_STEP_SUMMARY is not set", returncode=2
                )
            written = artifacts.append_step_summary(selectors.report_document(report), summary)
            self.stdout.write(f"step summary: {written} bytes appended to {summary}\n")
        if report.status != "ok":
            raise CommandError(f"quality gate {report.status}", returncode=1)

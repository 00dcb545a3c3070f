"""``manage.py job_status ID [--wait] [--timeout S]``: where a job is, or follow it to its end."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.cli import follow_job
from jobs.models import JobStatus
from lukhas_site.errors import LukhasError


class Command(BaseCommand):
    help = "Show a job's status, steps and log tail; --wait follows it with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int)
        parser.add_argument("--wait", action="store_true", help="Poll until the job ends.")
        parser.add_argument("--timeout", type=float, default=None, help="Give up after seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            snapshot = follow_job(
                options["job_id"],
                wait=options["wait"],
                stdout=self.stdout,
                timeout=options["timeout"],
            )
        except LukhasError as exc:
            raise CommandError(exc.message) from None
        except TimeoutError as exc:
            raise CommandError(str(exc)) from None
        progress = snapshot["progress"]
        self.stdout.write(
            f"{snapshot['kind']} #{snapshot['id']}: {snapshot['status']} "
            f"({progress['done']}/{progress['total']}) {progress['message']}"
        )
        for step in snapshot["steps"]:
            line = f"  [{step['index']}] {step['name']}: {step['status']}"
            if step["attempts"] > 1:
                line += f" after {step['attempts']} attempts"
            if step["error"]:
                line += f" - {step['error']}"
            self.stdout.write(line)
        for entry in snapshot["log"][-10:]:
            self.stdout.write(f"  {entry['at']} {entry['step'] or '-'}: {entry['line']}")
        if snapshot["error"]:
            self.stdout.write(f"error: {snapshot['error']}")
        if options["wait"] and snapshot["status"] != JobStatus.SUCCEEDED:
            raise CommandError(f"job {snapshot['id']} {snapshot['status']}")

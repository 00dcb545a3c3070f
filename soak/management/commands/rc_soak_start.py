"""``manage.py rc_soak_start RELEASE [--hours 48] [--target URL]``: start an RC soak."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lukhas_site.errors import LukhasError
from soak import services
from soak.management.commands._output import page_url


class Command(BaseCommand):
    help = "Start a soak of a release candidate (created if new); beat's sentinel takes snapshots."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("release", help="e.g. v0.9.0-rc")
        parser.add_argument("--hours", type=int, default=48, help="Planned hours (default 48).")
        parser.add_argument("--target", default="", help="Base URL to soak (default: this site).")
        parser.add_argument("--git-ref", default="", help="Commit or tag soaked.")
        parser.add_argument("--ga-version", dest="ga_version", default=None, help="e.g. 0.9.0")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            release = services.release_ensure(
                name=options["release"], version=options["ga_version"], git_ref=options["git_ref"]
            )
            run = services.soak_start(
                release=release,
                target_url=options["target"],
                planned_hours=options["hours"],
                by_label="cli",
            )
        except LukhasError as exc:
            raise CommandError(exc.message) from None
        load = f"load pid {run.load_pid}" if run.load_pid else "no synthetic load running"
        self.stdout.write(
            f"Started soak #{run.pk} of {release.name} (GA {release.version}) for "
            f"{run.planned_hours} h against {run.target_url or 'this site'}; gates version "
            f"{run.gates_version} (sha256 {run.gates_checksum[:12]}…); {load}.\n"
            f"The sentinel (beat task soak.sentinel) takes the first snapshot at its next beat; "
            f"`make rc-soak-snapshot` takes one now.\nOpen {page_url()}"
        )

"""``manage.py rc_soak_snapshot [RELEASE]``: take a snapshot of the running soak now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lukhas_site.errors import LukhasError
from soak import selectors, services
from soak.management.commands._output import run_lines
from soak.models import ACTIVE_PHASES


class Command(BaseCommand):
    help = "Measure every gate of the running soak now, write the day's health artifact."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("release", nargs="?", default=None, help="Default: the running soak.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = selectors.run_for_page(release=options["release"])
            if run is None or run.phase not in ACTIVE_PHASES:
                which = f"of {options['release']} " if options["release"] else ""
                raise CommandError(f"no soak {which}is running; start one with rc_soak_start")
            snapshot = services.snapshot_take(run=run, by_label="cli")
        except LukhasError as exc:
            raise CommandError(exc.message) from None
        run.refresh_from_db()
        kind = "complete" if snapshot.complete else "incomplete: its time does not count"
        self.stdout.write(
            f"Took snapshot #{snapshot.pk} of {run.release.name} at "
            f"{snapshot.taken_at:%Y-%m-%d %H:%M:%S} ({kind})."
        )
        self.stdout.write("\n".join(run_lines(run)))

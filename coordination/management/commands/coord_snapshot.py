"""``manage.py coord_snapshot [--out DIR]``: take a snapshot and write the exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from coordination.exports import export_bundle
from coordination.models import remaining_label
from coordination.services import snapshot_take


class Command(BaseCommand):
    help = (
        "Take a coordination snapshot and write task_status.json, COORDINATION_DASHBOARD.md "
        "and the daily report (what changed since the previous snapshot)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out",
            type=Path,
            default=None,
            help="folder to write to (default: LUKHAS_COORD_EXPORT_DIR, var/coordination)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out_dir = options["out"] or settings.COORDINATION_EXPORT_DIR
        snapshot, _ = snapshot_take()
        bundle = export_bundle(snapshot=snapshot)
        for path in bundle.write(Path(out_dir)):
            self.stdout.write(f"wrote {path}")
        self.stdout.write(
            f"snapshot #{snapshot.pk}: {snapshot.task_count} tasks, {snapshot.open_count} open, "
            f"{snapshot.done_count} done, "
            + remaining_label(
                snapshot.remaining_hours,
                snapshot.estimated_open_count,
                snapshot.unestimated_open_count,
            )
            + " remaining"
        )

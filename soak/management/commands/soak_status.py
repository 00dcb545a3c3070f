"""``manage.py soak_status [RELEASE] [--json]``: the soak's phase, hours and gates."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lukhas_site.errors import LukhasError
from soak import selectors
from soak.management.commands._output import page_url, run_lines, run_status


class Command(BaseCommand):
    help = "Show the running soak (or a release's latest) with every gate's standing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("release", nargs="?", default=None)
        parser.add_argument("--json", action="store_true", help="One JSON document.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = selectors.run_for_page(release=options["release"])
        except LukhasError as exc:
            raise CommandError(exc.message) from None
        if run is None:
            if options["json"]:
                self.stdout.write(json.dumps({"run": None, "url": page_url()}))
                return
            self.stdout.write(
                f"No soak yet; start one with `make rc-soak-start RELEASE=…`.\nOpen {page_url()}"
            )
            return
        if options["json"]:
            self.stdout.write(json.dumps(run_status(run), indent=2))
        else:
            self.stdout.write("\n".join(run_lines(run)))

"""``manage.py lanes [--config FILE] [--readme [FILE]] [--importlinter FILE] [--format json]``.

The lanes of a codebase (``configs/audits/<name>.yaml``): ``--readme`` writes
``docs/README_LANES.md`` (lanes, boundaries, promotion criteria per module);
``--importlinter`` writes the contracts of the production lanes for
``lint-imports --config`` (``make lane-guard-prod``). Without an option it
prints the promotion criteria of each production module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audits.lanes import (
    LanesError,
    cross_lane_imports,
    importlinter_config,
    lanes_readme,
    load_lanes,
    promotion_evaluate,
    promotions_to_dict,
)
from audits.selectors_ui import coverage_by_module, report_latest_of

DEFAULT_CONFIG = "configs/audits/lukhas.yaml"
DEFAULT_README = "docs/README_LANES.md"


class Command(BaseCommand):
    help = (
        "Lanes of a codebase: write docs/README_LANES.md (--readme), the import-linter "
        "contracts of its production lanes (--importlinter FILE), or print the promotion "
        "criteria of each production module."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--config", default=DEFAULT_CONFIG, help="the lanes config")
        parser.add_argument(
            "--readme", nargs="?", const=DEFAULT_README, help=f"write it (default {DEFAULT_README})"
        )
        parser.add_argument("--importlinter", metavar="FILE", help="write the contracts here")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        base = Path(settings.BASE_DIR)
        config = Path(options["config"])
        config = config if config.is_absolute() else base / config
        try:
            lanes = load_lanes(config, base)
        except LanesError as exc:
            raise CommandError(str(exc)) from None
        if options["importlinter"]:
            target = Path(options["importlinter"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(importlinter_config(lanes), encoding="utf-8")
            self.stdout.write(f"{lanes.name}: production-lane contracts -> {target}")
            if not options["readme"]:
                return
        readme_file = lanes.path / "README.md"
        settings_text = readme_file.read_text(encoding="utf-8") if readme_file.is_file() else None
        promotions = promotion_evaluate(
            lanes,
            coverage_by_module=coverage_by_module(report_latest_of(lanes.name)),
            cross_lane=cross_lane_imports(lanes),
            settings_text=settings_text,
        )
        if options["readme"]:
            target = Path(options["readme"])
            target = target if target.is_absolute() else base / target
            source = config.relative_to(base) if config.is_relative_to(base) else config
            target.write_text(lanes_readme(lanes, promotions, generated_from=str(source)))
            self.stdout.write(f"{lanes.name}: lanes page -> {target}")
            return
        if options["format"] == "json":
            self.stdout.write(json.dumps(promotions_to_dict(promotions), indent=2))
            return
        for promotion in promotions:
            self.stdout.write(f"{promotion.module}: {promotion.status}")
            for criterion in promotion.criteria:
                self.stdout.write(f"  {criterion.status:<8} {criterion.name}: {criterion.detail}")

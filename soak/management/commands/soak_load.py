"""``manage.py soak_load [--target URL] [--duration 60s] [--rps 5]``: the load, in the foreground.

Starts Locust (its own process, the ``soak`` tenant's key), waits for the
profile's duration, then prints the results table. Ctrl-C stops the load
and still prints what was measured.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lukhas_site.errors import LukhasError
from soak import services
from soak.load.profile import ProfileError, parse_duration

COLUMNS = ("count", "failures", "p50", "p90", "p95", "p99", "max", "rps")


def _cell(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, float):
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return str(value)


def results_table(results: dict[str, Any]) -> list[str]:
    """One line per request name and the aggregate; latencies in ms, unknown shown as such."""
    rows = [(name, figures) for name, figures in sorted(results["requests"].items())]
    rows.append(("Aggregated", results["aggregated"] or {}))
    width = max(len(name) for name, _ in rows)
    lines = [f"{'request':<{width}}  " + "  ".join(f"{c:>8}" for c in COLUMNS)]
    for name, figures in rows:
        cells = "  ".join(f"{_cell(figures.get(c)):>8}" for c in COLUMNS)
        lines.append(f"{name:<{width}}  {cells}")
    return lines


class Command(BaseCommand):
    help = "Run the soak's synthetic load (Locust, headless) and print its percentiles."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--target", default=None, help="Base URL (default: this site).")
        parser.add_argument("--profile", default=None, help="Load profile YAML file.")
        parser.add_argument("--duration", default=None, help="Overrides: 60, 90s, 15m, 2h.")
        parser.add_argument("--rps", type=float, default=None, help="Overrides requests/s.")
        parser.add_argument("--label", default="soak-load", help="Run label (out dir name).")
        parser.add_argument("--out-dir", default=None, help="Where Locust writes its CSV.")
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            profile = services.load_profile_read(options["profile"])
            duration = options["duration"]
            profile = profile.with_overrides(
                rps=options["rps"],
                duration_seconds=parse_duration(duration, source="--duration")
                if duration
                else None,
            )
            run = services.load_start(
                target_url=options["target"],
                profile=profile,
                out_dir=options["out_dir"],
                run_label=options["label"],
            )
        except ProfileError as exc:
            raise CommandError(str(exc)) from None
        except LukhasError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"Locust (pid {run.pid}) -> {run.target_url}: {profile.rps:g} req/s, "
            f"{profile.users} users, {profile.duration_seconds} s; CSV and log in {run.out_dir}"
        )
        started = time.monotonic()
        try:
            # --run-time ends it; the margin covers Locust's stop timeout and its start.
            if not services.load_wait(run, timeout=profile.duration_seconds + 60):
                services.load_stop(run=run)
        except KeyboardInterrupt:
            self.stderr.write("Interrupted: stopping the load.")
            services.load_stop(run=run)
        results = services.load_results(run)
        if options["json"]:
            self.stdout.write(json.dumps(results, indent=2))
        else:
            self.stdout.write("\n".join(results_table(results)))
            self.stdout.write(
                f"{time.monotonic() - started:.0f} s; latencies in ms; "
                f"{'complete' if results['complete'] else 'INCOMPLETE (no stats written)'}"
            )
        if not results["complete"]:
            raise CommandError(f"the load wrote no stats; see {run.log_path}")

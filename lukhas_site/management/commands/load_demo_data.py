"""Load each app's demo data once (run by `make run`)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from lukhas_site.services import demo_data_load


class Command(BaseCommand):
    help = "Load the demo data that each app registers; loaders that already ran are skipped."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--force", action="store_true", help="run every loader again")

    def handle(self, *args: object, force: bool = False, **options: object) -> None:
        results = demo_data_load(report=lambda line: self.stdout.write(f"  {line}"), force=force)
        if not results:
            self.stdout.write("No demo data loaders are registered.")
        for result in results:
            state = "loaded" if result.loaded else "skipped"
            self.stdout.write(f"demo data {result.name}: {state} ({result.summary})")

"""``manage.py export_openai_tools``: the release's own tools as OpenAI tool definitions (JSON)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from matriz import tooling


class Command(BaseCommand):
    help = (
        "Print (or write with --out) the release's own tools as OpenAI function tool "
        "definitions, ready for tools=[...] of any OpenAI client."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, help="write the JSON to this file")

    def handle(self, *args: object, out: Path | None = None, **options: object) -> None:
        text = json.dumps(tooling.definitions(), indent=2, ensure_ascii=False) + "\n"
        if out is None:
            self.stdout.write(text, ending="")
            return
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {len(tooling.tools())} tool definitions to {out}")

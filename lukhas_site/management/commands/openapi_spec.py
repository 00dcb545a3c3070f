"""Write the OpenAPI document of an API root, stably, for committing and diffing.

``make openapi-spec`` writes ``docs/openapi/lukhas-openai.json`` (the ``/v1``
root); ``tests/contract/test_openapi_files.py`` fails when that file no
longer matches the code. ``--check`` answers the same question without writing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from lukhas_site import api as roots
from lukhas_site.openapi_diff import HTTP_METHODS, render_spec

# Which NinjaAPI root, and where its committed document lives.
SPEC_FILES = {
    "v1": "docs/openapi/lukhas-openai.json",
    "api": "docs/openapi/lukhas-ops.json",
}


def api_schema(root: str) -> dict[str, Any]:
    """The OpenAPI document of ``root`` ("v1" or "api") as plain JSON data."""
    if root not in SPEC_FILES:
        raise CommandError(f"unknown API root {root!r}: choose one of {', '.join(SPEC_FILES)}")
    return getattr(roots, root).get_openapi_schema()


def rendered_spec(root: str) -> str:
    return render_spec(api_schema(root))


def default_path(root: str) -> Path:
    return Path(settings.BASE_DIR) / SPEC_FILES[root]


def write_atomically(path: Path, text: str) -> None:
    """Readers (a test, an editor) never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Command(BaseCommand):
    help = (
        "Write the OpenAPI JSON of an API root (sorted keys, 2-space indent). "
        "Default: the /v1 root into docs/openapi/lukhas-openai.json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--api", choices=sorted(SPEC_FILES), default="v1", help="which root")
        parser.add_argument(
            "--out", help="file to write ('-' for stdout); default docs/openapi/lukhas-<root>.json"
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="write nothing; exit 1 if the file differs from the code",
        )

    def handle(self, *args: Any, api: str, out: str | None, check: bool, **options: Any) -> None:
        schema = api_schema(api)
        text = render_spec(schema)
        if out == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(out) if out else default_path(api)
        operations = sum(
            method in HTTP_METHODS for item in schema.get("paths", {}).values() for method in item
        )
        if check:
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != text:
                raise CommandError(
                    f"{path} is out of date with the code: run `make openapi-spec`", returncode=1
                )
            self.stdout.write(f"{path} is up to date ({operations} operations).")
            return
        write_atomically(path, text)
        self.stdout.write(f"Wrote {path} ({operations} operations).")

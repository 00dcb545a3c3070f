"""Compare two OpenAPI documents; exit 1 when the candidate breaks clients of the base.

    manage.py openapi_diff docs/openapi/lukhas-openai.baseline.json docs/openapi/lukhas-openai.json

``--pr-comment FILE`` also writes the diff as a pull-request comment body
(added, removed and breaking rows) and prints the ``gh pr comment``
command that would post it (``--pr`` names the pull request); it runs nothing.

Exit status: 0 no breaking change (non-breaking ones are still listed), 1
breaking changes, 2 a document could not be read. The rules are in
``lukhas_site/openapi_diff/`` and ``docs/contract.md``.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lukhas_site.openapi_diff import SpecError, diff_specs, load_spec
from lukhas_site.openapi_diff.comment import pr_comment


class Command(BaseCommand):
    help = (
        "List added, removed and changed operations between two OpenAPI documents and "
        "exit 1 on breaking changes (removed operations or fields, retyped fields, new "
        "required request fields, narrowed enums, removed status codes)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("base", help="the document clients were built against")
        parser.add_argument("candidate", help="the document about to ship")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--pr-comment",
            metavar="FILE",
            help="write the diff as a PR comment body here and print the gh command (not run)",
        )
        parser.add_argument(
            "--pr", default="<PR>", help="with --pr-comment: the pull request number or URL"
        )

    def handle(self, *args: Any, base: str, candidate: str, **options: Any) -> None:
        try:
            result = diff_specs(load_spec(base), load_spec(candidate))
        except SpecError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if options["format"] == "json":
            report = {"base": base, "candidate": candidate, **result.to_dict()}
            self.stdout.write(json.dumps(report, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(f"base:      {base}\ncandidate: {candidate}\n")
            self.stdout.write(result.to_text(), ending="")
        if options["pr_comment"]:
            target = Path(options["pr_comment"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(pr_comment(result, base=base, candidate=candidate), encoding="utf-8")
            command = shlex.join(["gh", "pr", "comment", options["pr"], "--body-file", str(target)])
            self.stdout.write(f"PR comment body: {target}\npost it with: {command}")
        if result.is_breaking:
            raise CommandError(
                f"{result.breaking_count} breaking change(s) against {base}. If they are "
                "intended, say so in the release notes and run `make openapi-baseline`.",
                returncode=1,
            )

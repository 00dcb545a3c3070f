"""``manage.py soft_audit_inventory FILE [--out CSV] [--tasks] [--gh FILE] [--owners YAML]``.

Reads a soft-audit markdown (``audits/soft_audit.py`` says which styles) and
writes ``docs/audits/CODEX_SOFT_AUDIT_TASKS.csv``; ``--tasks`` makes one
coordination task per finding (idempotent: keyed by the finding id); ``--gh``
writes the ``gh issue create`` commands to a file for a person to review and
run. A document that cannot be read exits 1 with its line number and writes
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audits.services_ui import soft_audit_tasks_sync
from audits.soft_audit import (
    SoftAuditError,
    findings_csv,
    gh_issue_commands,
    owner_rules,
    parse_soft_audit,
)
from lukhas_site.errors import LukhasError

DEFAULT_CSV = "docs/audits/CODEX_SOFT_AUDIT_TASKS.csv"
MAX_BYTES = 2 * 1024 * 1024  # a review, not a data dump: as the plan upload's limit


class Command(BaseCommand):
    help = (
        "Turn a soft-audit markdown into docs/audits/CODEX_SOFT_AUDIT_TASKS.csv (id, severity, "
        "area, file_hint, summary, suggested_owner); optionally into coordination tasks "
        "(--tasks) and gh issue commands (--gh FILE)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the soft-audit markdown")
        parser.add_argument(
            "--out", default=None, help=f"where the CSV goes (default: {DEFAULT_CSV})"
        )
        parser.add_argument(
            "--tasks", action="store_true", help="create a coordination task per new finding"
        )
        parser.add_argument(
            "--gh", metavar="FILE", help="write `gh issue create` commands here (not run)"
        )
        parser.add_argument("--repo", default="", help="with --gh: the OWNER/REPO to file in")
        parser.add_argument(
            "--label",
            action="append",
            default=None,
            help="with --gh: a label for every issue (repeatable; default: soft-audit)",
        )
        parser.add_argument(
            "--owners",
            metavar="YAML",
            help="suggested owners: a mapping of file glob or area name to owner",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"{path}: larger than {MAX_BYTES:,} bytes; nothing was written")
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise CommandError(f"{path}:{line}: not UTF-8; nothing was written") from None
        rules = owner_rules(self._owners(options["owners"]))
        try:
            findings = parse_soft_audit(text, rules)
        except SoftAuditError as exc:
            raise CommandError(f"{path}:{exc.line}: {exc.message}; nothing was written") from None

        out = Path(options["out"] or Path(settings.BASE_DIR) / DEFAULT_CSV)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(findings_csv(findings), encoding="utf-8")
        counts: dict[str, int] = {}
        for finding in findings:
            counts[finding.severity] = counts.get(finding.severity, 0) + 1
        by_severity = ", ".join(f"{n} {severity}" for severity, n in counts.items())
        self.stdout.write(f"{path}: {len(findings)} findings ({by_severity}) -> {out}")

        if options["gh"]:
            script = gh_issue_commands(
                findings,
                source=path.name,
                repo=options["repo"],
                labels=options["label"] or ["soft-audit"],
            )
            gh_path = Path(options["gh"])
            gh_path.write_text(script, encoding="utf-8")
            self.stdout.write(f"{len(findings)} gh issue commands -> {gh_path} (not run)")

        if options["tasks"]:
            try:
                results = soft_audit_tasks_sync(
                    findings=findings, source=path.name, by=f"soft_audit_inventory:{path.name}"
                )
            except LukhasError as exc:
                raise CommandError(f"{path}: {exc.message}; no task was created") from None
            created = [result for result in results if result.created]
            self.stdout.write(
                f"tasks: {len(created)} created, {len(results) - len(created)} existed already"
            )
            for result in created:
                self.stdout.write(f"  created {result.task_key}: {result.finding.summary}")

    def _owners(self, owners: str | None) -> dict[str, str]:
        if not owners:
            return {}
        try:
            mapping = yaml.safe_load(Path(owners).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise CommandError(f"{owners}: {exc}") from None
        if not isinstance(mapping, dict):
            raise CommandError(f"{owners}: expected a mapping of pattern to owner")
        return mapping

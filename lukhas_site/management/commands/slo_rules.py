"""``manage.py slo_rules``: write ops/prometheus/rules/slo.yml from the SLO budgets.

Sloth is the usual generator of these rules, but it is a Go binary we cannot
install here, so lukhas_site.slo generates the same rules (Sloth's names and
shape) from configs/observability/slo_budgets.yaml. ``--check`` writes nothing
and fails when the committed file differs (what CI and the drift test ask).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lukhas_site import slo


class Command(BaseCommand):
    help = "Generate the SLO recording and burn-rate alert rules from slo_budgets.yaml."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--spec", default=str(slo.SPEC_PATH), help="The budgets file")
        parser.add_argument("--output", default=str(slo.RULES_PATH), help="The rule file")
        parser.add_argument(
            "--check", action="store_true", help="Write nothing; fail if the file is stale"
        )

    def handle(self, *args: object, spec: str, output: str, check: bool, **options: object) -> None:
        try:
            text = slo.render_rules(slo.load_slos(spec))
        except slo.SLOFileError as exc:
            raise CommandError(str(exc)) from exc
        target = Path(output)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if check:
            if current != text:
                raise CommandError(f"{target} is stale: run `make slo-rules` and commit it")
            self.stdout.write(f"{target} is up to date")
            return
        if current == text:
            self.stdout.write(f"{target} unchanged")
            return
        target.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {target}")

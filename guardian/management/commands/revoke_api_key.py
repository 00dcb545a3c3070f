"""Revoke API keys by prefix (lk-…) or by name."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from guardian import services
from lukhas_site.errors import LukhasError


class Command(BaseCommand):
    help = "Revoke an API key: revoke_api_key lk-abcd1234efgh, or --name NAME (--all if several)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", nargs="?", help="the key's prefix, lk-<public id>")
        parser.add_argument("--name", help="the key's name instead of its prefix")
        parser.add_argument(
            "--all", action="store_true", help="revoke every live key with that name"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        prefix, name = options["prefix"], options["name"]
        if bool(prefix) == bool(name):
            raise CommandError("Give either a prefix or --name.")
        try:
            found = services.api_key_find_for_revocation(prefix=prefix, name=name)
        except LukhasError as exc:
            raise CommandError(exc.message) from exc
        if len(found) > 1 and not options["all"]:
            listed = ", ".join(key.prefix for key in found)
            raise CommandError(f"{len(found)} live keys are named {name!r} ({listed}); add --all.")
        for key in found:
            services.api_key_revoke(key=key)
            self.stdout.write(f"revoked {key.prefix} ({key.name})")

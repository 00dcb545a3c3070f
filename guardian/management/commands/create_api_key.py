"""Create an API key and print it — only it, once, so scripts can capture it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from guardian import services
from lukhas_site.errors import LukhasError


class Command(BaseCommand):
    help = (
        "Create an API key and print its plaintext (shown once; only a hash is stored). "
        "Example: create_api_key --name ci --scopes models:read,responses:write --rpm 120"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="what the key is for")
        parser.add_argument(
            "--scopes", required=True, help="comma-separated, e.g. models:read,responses:write"
        )
        parser.add_argument("--tenant", default=services.DEFAULT_TENANT, help="tenant slug")
        parser.add_argument("--rpm", type=int, help="requests per minute")
        parser.add_argument("--tpm", type=int, help="tokens per minute")
        parser.add_argument("--quota", type=int, help="tokens per UTC day")
        parser.add_argument("--expires-in-days", type=int, help="expire after this many days")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["expires_in_days"]
        for flag in ("rpm", "tpm", "quota"):
            if options[flag] is not None and options[flag] <= 0:
                raise CommandError(f"--{flag} must be a positive integer")
        try:
            plaintext, _ = services.api_key_create(
                name=options["name"],
                scopes=options["scopes"].split(","),
                tenant=options["tenant"],
                requests_per_minute=options["rpm"],
                tokens_per_minute=options["tpm"],
                daily_token_quota=options["quota"],
                expires_at=timezone.now() + timedelta(days=days) if days else None,
            )
        except LukhasError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(plaintext)

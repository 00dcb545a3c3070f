"""Create the demo admin once in development and print its login."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from lukhas_site.errors import RuleViolation
from lukhas_site.services import demo_admin_ensure


class Command(BaseCommand):
    help = "Create the demo superuser (development only) and print its credentials."

    def handle(self, *args: object, **options: object) -> None:
        try:
            admin = demo_admin_ensure()
        except RuleViolation as exc:
            raise CommandError(str(exc)) from exc
        password = admin.password or "(changed since it was created)"
        verb = "created" if admin.created else "exists"
        self.stdout.write(f"Demo login ({verb}): {admin.username} / {password}")

"""Writes of the site itself: demo data and the demo admin."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from lukhas_site.demo import demo_hooks
from lukhas_site.errors import RuleViolation
from lukhas_site.models import DemoDataLoad

DEMO_ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class DemoAdmin:
    username: str
    password: str | None
    created: bool


def _credentials_file() -> Path:
    return settings.VAR_DIR / "demo-admin-password"


def demo_admin_ensure() -> DemoAdmin:
    """Create the demo superuser once (development only) and return its login."""
    if settings.PRODUCTION:
        raise RuleViolation("the demo admin is never created when LUKHAS_ENV=production")
    user_model = get_user_model()
    path = _credentials_file()
    with transaction.atomic():
        if user_model.objects.filter(username=DEMO_ADMIN_USERNAME).exists():
            password = path.read_text().strip() if path.exists() else None
            return DemoAdmin(DEMO_ADMIN_USERNAME, password, created=False)
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser(
            username=DEMO_ADMIN_USERNAME, email="admin@example.invalid", password=password
        )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password)
    return DemoAdmin(DEMO_ADMIN_USERNAME, password, created=True)


@dataclass(frozen=True)
class DemoLoadResult:
    name: str
    loaded: bool
    summary: str


def demo_data_load(
    *, report: Callable[[str], None] = lambda line: None, force: bool = False
) -> list[DemoLoadResult]:
    """Run every registered demo loader that has not run yet, each in its own transaction."""
    results = []
    for hook in demo_hooks():
        if not force and DemoDataLoad.objects.filter(name=hook.name).exists():
            results.append(DemoLoadResult(hook.name, loaded=False, summary="already loaded"))
            continue
        with transaction.atomic():
            summary = hook.loader(report)
            DemoDataLoad.objects.update_or_create(name=hook.name, defaults={"summary": summary})
        results.append(DemoLoadResult(hook.name, loaded=True, summary=summary))
    return results

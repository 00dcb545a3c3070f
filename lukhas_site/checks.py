"""Configuration mistakes as system checks with stable ids (``lukhas.E001``).

``manage.py check --deploy`` runs the deploy-tagged ones, so a production
environment that still points at SQLite or the embedded broker is caught
before it serves traffic.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks


def check_redis_url(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    if not settings.REDIS_URL:
        return []
    scheme = urlsplit(settings.REDIS_URL).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        return [
            checks.Error(
                f"REDIS_URL has scheme {scheme!r}",
                hint="Use redis://host:6379/0, rediss:// for TLS, or unix:///path.sock",
                id="lukhas.E001",
            )
        ]
    return []


def check_metrics_dir(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path and not os.access(path, os.W_OK):
        return [
            checks.Error(
                f"PROMETHEUS_MULTIPROC_DIR={path} is not a writable directory",
                hint="Create it (empty) before starting web and worker processes.",
                id="lukhas.E002",
            )
        ]
    return []


def check_production_services(
    app_configs: object = None, **kwargs: object
) -> list[checks.CheckMessage]:
    if not settings.PRODUCTION:
        return []
    messages = []
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        messages.append(
            checks.Warning(
                "LUKHAS_ENV=production runs on the SQLite file under var/",
                hint="Set DATABASE_URL=postgres://user@host:5432/lukhas.",
                id="lukhas.W001",
            )
        )
    if not settings.REDIS_URL:
        messages.append(
            checks.Warning(
                "LUKHAS_ENV=production uses the embedded broker and database cache",
                hint="Set REDIS_URL=redis://host:6379/0 so several machines share them.",
                id="lukhas.W002",
            )
        )
    return messages


def check_metrics_exposure(
    app_configs: object = None, **kwargs: object
) -> list[checks.CheckMessage]:
    """Production /metrics needs a token, or a deliberate LUKHAS_METRICS_PUBLIC=true."""
    if not settings.PRODUCTION or settings.METRICS_TOKEN:
        return []
    if settings.METRICS_PUBLIC:
        return [
            checks.Warning(
                "/metrics answers anonymous scrapes (LUKHAS_METRICS_PUBLIC=true, no token)",
                hint="Keep /metrics off the public network (nginx: location = /metrics "
                "{ deny all; }) or set LUKHAS_METRICS_TOKEN.",
                id="lukhas.W011",
            )
        ]
    return [
        checks.Warning(
            "/metrics refuses every scrape: LUKHAS_ENV=production without LUKHAS_METRICS_TOKEN",
            hint="Set LUKHAS_METRICS_TOKEN and give Prometheus that bearer token, or set "
            "LUKHAS_METRICS_PUBLIC=true if the network already keeps /metrics private.",
            id="lukhas.W010",
        )
    ]


def register() -> None:
    checks.register(check_redis_url)
    checks.register(check_metrics_dir)
    checks.register(check_production_services, checks.Tags.security, deploy=True)
    checks.register(check_metrics_exposure, checks.Tags.security, deploy=True)

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


def check_db_pool(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """The pool and its knobs must agree: Django refuses a pool with persistent connections,
    and only at the first query; this says so at start-up, with the variable to fix."""
    return db_pool_problems(settings.DATABASES["default"])


def db_pool_problems(database: dict) -> list[checks.CheckMessage]:
    """What is inconsistent in one ``DATABASES`` entry's pool configuration."""
    pool = database.get("OPTIONS", {}).get("pool")
    if not pool:
        return []
    messages = []
    conn_max_age = database.get("CONN_MAX_AGE", 0)
    if conn_max_age != 0:
        messages.append(
            checks.Error(
                f"LUKHAS_DB_CONN_MAX_AGE={conn_max_age} with the connection pool on",
                hint="The pool reuses connections itself and needs LUKHAS_DB_CONN_MAX_AGE=0 "
                "(or unset); set LUKHAS_DB_POOL=false to use persistent connections instead.",
                id="lukhas.E020",
            )
        )
    if isinstance(pool, dict):
        low, high = pool.get("min_size", 4), pool.get("max_size", pool.get("min_size", 4))
        if low < 0 or high < 1 or low > high:
            messages.append(
                checks.Error(
                    f"LUKHAS_DB_POOL_MIN={low}, LUKHAS_DB_POOL_MAX={high}",
                    hint="Use 0 <= LUKHAS_DB_POOL_MIN <= LUKHAS_DB_POOL_MAX and MAX >= 1; "
                    "processes x MAX must stay under PostgreSQL's max_connections "
                    "(docs/production-database.md).",
                    id="lukhas.E021",
                )
            )
        if pool.get("timeout", 30.0) <= 0 or pool.get("max_idle", 600.0) <= 0:
            messages.append(
                checks.Error(
                    f"LUKHAS_DB_POOL_TIMEOUT={pool.get('timeout')}, "
                    f"LUKHAS_DB_POOL_MAX_IDLE={pool.get('max_idle')}",
                    hint="Both are seconds and must be positive (e.g. 5 and 60).",
                    id="lukhas.E022",
                )
            )
        if pool.get("max_waiting", 0) < 0:
            messages.append(
                checks.Error(
                    f"LUKHAS_DB_POOL_MAX_WAITING={pool.get('max_waiting')}",
                    hint="0 queues without bound; a positive number sheds the rest at once.",
                    id="lukhas.E023",
                )
            )
    return messages


def check_production_db_pool(
    app_configs: object = None, **kwargs: object
) -> list[checks.CheckMessage]:
    """PostgreSQL without a pool opens one connection per in-flight request (issue 10)."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if not settings.PRODUCTION or not engine.endswith("postgresql"):
        return []
    if settings.DATABASES["default"].get("OPTIONS", {}).get("pool"):
        return []
    return [
        checks.Warning(
            "LUKHAS_DB_POOL=false: every in-flight request holds its own PostgreSQL connection",
            hint="A burst then exhausts max_connections for every client of the server; "
            "unset LUKHAS_DB_POOL (the pool is on by default) and size LUKHAS_DB_POOL_MAX.",
            id="lukhas.W020",
        )
    ]


def check_csp(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """Production without an enforced Content-Security-Policy (issue 10, finding 2)."""
    if not settings.PRODUCTION:
        return []
    middleware_on = "csp.middleware.CSPMiddleware" in settings.MIDDLEWARE
    enforced = bool(getattr(settings, "CONTENT_SECURITY_POLICY", None))
    if middleware_on and enforced:
        return []
    if not settings.CONTENT_SECURITY_POLICY_ENABLED:
        why = "LUKHAS_CSP_ENABLED=false"
    elif not middleware_on:
        why = "csp.middleware.CSPMiddleware is not in MIDDLEWARE"
    else:
        why = "LUKHAS_CSP_REPORT_ONLY=true (the policy is reported, not enforced)"
    return [
        checks.Warning(
            f"No Content-Security-Policy is enforced in production: {why}",
            hint="Unset LUKHAS_CSP_ENABLED and LUKHAS_CSP_REPORT_ONLY: the policy forbids "
            "inline script, so an injected <script> or javascript: link does not run.",
            id="lukhas.W030",
        )
    ]


def register() -> None:
    checks.register(check_redis_url)
    checks.register(check_metrics_dir)
    checks.register(check_production_services, checks.Tags.security, deploy=True)
    checks.register(check_metrics_exposure, checks.Tags.security, deploy=True)
    checks.register(check_db_pool, checks.Tags.database)
    checks.register(check_production_db_pool, checks.Tags.database, deploy=True)
    checks.register(check_csp, checks.Tags.security, deploy=True)

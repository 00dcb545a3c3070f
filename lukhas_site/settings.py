"""LUKHAS Ops settings: one module, driven by the environment only.

Development and production differ only by environment variables; every
variable is listed in README.md. ``LUKHAS_ENV=production`` switches on the
secure defaults that ``manage.py check --deploy`` looks for.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from lukhas_site.env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

LUKHAS_ENV = env_choice("LUKHAS_ENV", "development", {"development", "production"})
PRODUCTION = LUKHAS_ENV == "production"

# Everything a local install writes (SQLite file, embedded broker, generated
# secret key, metrics of worker processes) lives here, never in the source tree.
VAR_DIR = (BASE_DIR / env_str("LUKHAS_VAR_DIR", "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("LUKHAS_DEBUG", False)


def _secret_key() -> str:
    """Production must bring its own key; development keeps one under var/."""
    key = env_str("LUKHAS_SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("LUKHAS_SECRET_KEY is required when LUKHAS_ENV=production")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        # O_EXCL: two processes starting together must not write two keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list(
    "LUKHAS_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("LUKHAS_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "lukhas_site.apps.LukhasSiteConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "django_celery_beat",
    "csp",
    "guardian.apps.GuardianConfig",
    "matriz.apps.MatrizConfig",
    "coordination.apps.CoordinationConfig",
    "soak.apps.SoakConfig",
    "audits.apps.AuditsConfig",
    "jobs.apps.JobsConfig",
]

MIDDLEWARE = [
    # First, so every response (even a 500 or a redirect) carries the ids and
    # every log line below it knows them.
    "lukhas_site.middleware.RequestContextMiddleware",
    "lukhas_site.middleware.MetricsMiddleware",
    # Before the shedding below, so the HTML 503 page carries the policy too.
    "csp.middleware.CSPMiddleware",
    # Outside everything that touches the database (sessions, auth, Guardian's
    # key lookup): an exhausted pool or server answers 503 + Retry-After, never 500.
    "lukhas_site.dbpool.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Bearer keys, rate limits + headers and idempotency for /v1 and /api. After
    # the session and auth middlewares so a dashboard session is a principal too.
    "guardian.middleware.GuardianMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lukhas_site.urls"
WSGI_APPLICATION = "lukhas_site.wsgi.application"
ASGI_APPLICATION = "lukhas_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "lukhas_site.context_processors.site",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'lukhas.sqlite3'}"
_DB_ENGINE = dj_database_url.parse(DATABASE_URL)["ENGINE"]
# PostgreSQL: each process holds a bounded pool (Django 5.2's psycopg pool), so a
# burst waits for a connection (LUKHAS_DB_POOL_TIMEOUT) and is then shed with a
# 503 (lukhas_site.dbpool), instead of opening one connection per in-flight
# request until the server refuses them all. docs/production-database.md has
# the arithmetic: processes x LUKHAS_DB_POOL_MAX <= max_connections - reserve.
DB_POOL = _DB_ENGINE == "django.db.backends.postgresql" and env_bool("LUKHAS_DB_POOL", True)
DB_POOL_MIN = env_int("LUKHAS_DB_POOL_MIN", 2)
DB_POOL_MAX = env_int("LUKHAS_DB_POOL_MAX", 10)
DB_POOL_TIMEOUT_SECONDS = env_float("LUKHAS_DB_POOL_TIMEOUT", 5.0)
# A connection above MIN idle this long is closed (psycopg closes one per period).
DB_POOL_MAX_IDLE_SECONDS = env_float("LUKHAS_DB_POOL_MAX_IDLE", 60.0)
# Requests queued for a connection beyond this are shed at once (0: no bound).
DB_POOL_MAX_WAITING = env_int("LUKHAS_DB_POOL_MAX_WAITING", 0)
# What a shed request is told to wait before retrying (Retry-After, seconds).
DB_RETRY_AFTER_SECONDS = env_int("LUKHAS_DB_RETRY_AFTER", 2)
# The pool needs CONN_MAX_AGE=0 (a connection goes back to the pool at the end
# of each request); without a pool, connections are reused for this long.
# lukhas.E020 refuses a pool with a non-zero LUKHAS_DB_CONN_MAX_AGE.
DB_CONN_MAX_AGE = env_int("LUKHAS_DB_CONN_MAX_AGE", 0 if DB_POOL or DEBUG else 60)
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share one SQLite file: WAL lets readers and one
    # writer overlap, IMMEDIATE takes the write lock up front so concurrent
    # transactions wait (timeout) instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not :memory:, so a Celery worker process started by a test can
    # open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "LUKHAS_DB_CONNECT_TIMEOUT", 5
    )
    if DB_POOL:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": DB_POOL_MIN,
            "max_size": DB_POOL_MAX,
            "timeout": DB_POOL_TIMEOUT_SECONDS,
            "max_idle": DB_POOL_MAX_IDLE_SECONDS,
            "max_waiting": DB_POOL_MAX_WAITING,
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, results ------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
EMBEDDED = not REDIS_URL
CACHE_KEY_PREFIX = env_str("LUKHAS_CACHE_PREFIX", "lukhas")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # The database cache is the store every local process shares (web workers,
    # Celery worker, beat); a per-process LocMemCache would not be.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "lukhas_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("LUKHAS_BROKER_URL") or REDIS_URL or "filesystem://localhost/"
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: messages are files, so every local process
    # that points at the same folders shares one queue without a server.
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
# Redis as broker: connect once, no reconnect loop (kombu's retries for
# broker_connection_timeout, 4 s and more), so a publish inside a request
# fails fast while Redis is down; the worker's consumer reconnects on its own.
BROKER_REDIS_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": env_float("LUKHAS_BROKER_CONNECT_TIMEOUT", 1.0),
    "socket_timeout": 5,
    "max_retries": 0,
}
if not CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(BROKER_REDIS_TRANSPORT_OPTIONS)

CELERY_RESULT_BACKEND = env_str("LUKHAS_RESULT_BACKEND") or (
    REDIS_URL or f"file://{VAR_DIR / 'celery-results'}"
)
if CELERY_RESULT_BACKEND.startswith("file://"):
    (VAR_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("LUKHAS_TASK_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Redis redelivers an unacked message after this: longer than a task may run
# (or a running task is delivered twice), not much longer (a task whose whole
# worker died waits this long for its message).
BROKER_VISIBILITY_TIMEOUT = env_int("LUKHAS_BROKER_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 60)
if not CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = BROKER_VISIBILITY_TIMEOUT
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic jobs are declared here once; django-celery-beat copies them into
# the database at beat start, where the admin can pause or re-time them.
CELERY_BEAT_SCHEDULE = {
    "lukhas-heartbeat": {
        "task": "lukhas.heartbeat",
        "schedule": env_float("LUKHAS_HEARTBEAT_SECONDS", 30.0),
        "options": {"expires": 25},
    },
}

# --- Static files ----------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "lukhas_site.staticfinders.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Development serves straight from the finders, so `make run` needs no
# collectstatic step; production serves the collected, hashed files.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# --- Auth, sessions, security ---------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SECURE_SSL_REDIRECT = env_bool("LUKHAS_SECURE_SSL_REDIRECT", PRODUCTION)
# Probes and scrapers talk plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if env_bool("LUKHAS_BEHIND_PROXY", PRODUCTION):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("LUKHAS_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = PRODUCTION
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): no inline script, no eval, nothing
# from another origin (checked in a browser by tests/edges/test_csp_header.py).
# Inline styles are allowed where something still writes them, and only there:
# <style> elements (style-src-elem) because plotly.js inserts its rules while it
# draws and templates/matriz/index.html has a <style> block; style attributes
# (style-src-attr) because coordination's admin status badges and the MATRIZ
# page write style="...". A view that cannot live with this policy relaxes it
# for itself only, with django-csp's decorators and a comment saying why.
CONTENT_SECURITY_POLICY_ENABLED = env_bool("LUKHAS_CSP_ENABLED", True)
_CSP_REPORT_ONLY = env_bool("LUKHAS_CSP_REPORT_ONLY", False)
_CSP_REPORT_URI = env_str("LUKHAS_CSP_REPORT_URI")
_CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'", "'unsafe-inline'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    },
}
if _CSP_REPORT_URI:
    _CSP_POLICY["DIRECTIVES"]["report-uri"] = [_CSP_REPORT_URI]
if not CONTENT_SECURITY_POLICY_ENABLED:
    MIDDLEWARE.remove("csp.middleware.CSPMiddleware")
elif _CSP_REPORT_ONLY:
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP_POLICY
else:
    CONTENT_SECURITY_POLICY = _CSP_POLICY

# --- Internationalisation ----------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Observability -----------------------------------------------------------

LOG_LEVEL = env_choice(
    "LUKHAS_LOG_LEVEL", "INFO", {"debug", "info", "warning", "error", "critical"}
).upper()
LOG_FORMAT = env_choice("LUKHAS_LOG_FORMAT", "json", {"json", "text"})
# Emails are personal data; redacting them is a choice some teams make.
LOG_REDACT_EMAILS = env_bool("LUKHAS_LOG_REDACT_EMAILS", False)
LOGGING_CONFIG = None  # configured by lukhas_site.logging.configure below

METRICS_TOKEN = env_str("LUKHAS_METRICS_TOKEN")
READINESS_TIMEOUT_SECONDS = env_float("LUKHAS_READINESS_TIMEOUT", 2.0)
# A heartbeat older than this means beat or the worker has stopped.
HEARTBEAT_MAX_AGE_SECONDS = env_float("LUKHAS_HEARTBEAT_MAX_AGE", 120.0)

# --- Demo data ---------------------------------------------------------------

# The shared LUKHAS plans, loaded as demo data by `make run` (coordination).
SHARED_DIR = Path(env_str("LUKHAS_SHARED_DIR", str(BASE_DIR.parent / "shared")))

NINJA_PAGINATION_PER_PAGE = 50

from lukhas_site.logging import configure as _configure_logging  # noqa: E402

_configure_logging(level=LOG_LEVEL, fmt=LOG_FORMAT, redact_emails=LOG_REDACT_EMAILS)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

# --- Guardian ---
# API keys, scopes, policy decisions, rate limits, quotas and idempotency.
# Every variable is documented in docs/guardian.md.

# Which policy file under configs/guardian/ decides (dev, sandbox, production),
# or a path to a YAML file. Strict production is the default everywhere: the
# permissive dev policy is something a developer opts into.
GUARDIAN_POLICY = env_str("LUKHAS_GUARDIAN_POLICY", "production")
GUARDIAN_POLICY_DIR = BASE_DIR / "configs" / "guardian"
# Overrides the policy file's own mode: permissive (deny is logged, not enforced) or strict.
GUARDIAN_MODE = env_str("LUKHAS_GUARDIAN_MODE", "").strip().lower() or None
# How often a process looks at the policy file's mtime and the admin's switches.
GUARDIAN_POLICY_REFRESH_SECONDS = env_float("LUKHAS_GUARDIAN_POLICY_REFRESH_SECONDS", 2.0)
# Keys are stored as HMAC-SHA256(pepper, key); by default the pepper is derived
# from SECRET_KEY, so rotating SECRET_KEY invalidates every key unless this is set.
GUARDIAN_KEY_PEPPER = env_str("LUKHAS_GUARDIAN_KEY_PEPPER")
# A process remembers a looked-up key this long (revocation reaches other processes within it).
GUARDIAN_KEY_CACHE_SECONDS = env_float("LUKHAS_GUARDIAN_KEY_CACHE_SECONDS", 5.0)
GUARDIAN_LAST_USED_INTERVAL_SECONDS = env_int("LUKHAS_GUARDIAN_LAST_USED_INTERVAL", 60)
# Defaults of a new key (the admin form and create_api_key start from these).
GUARDIAN_DEFAULT_RPM = env_int("LUKHAS_GUARDIAN_DEFAULT_RPM", 60)
GUARDIAN_DEFAULT_TPM = env_int("LUKHAS_GUARDIAN_DEFAULT_TPM", 100_000)
GUARDIAN_DEFAULT_DAILY_QUOTA = env_int("LUKHAS_GUARDIAN_DEFAULT_DAILY_QUOTA", 1_000_000)
# Limiter and idempotency store: Redis when there is one, the database otherwise.
GUARDIAN_REDIS_URL = env_str("LUKHAS_GUARDIAN_REDIS_URL") or REDIS_URL
GUARDIAN_REDIS_PREFIX = env_str("LUKHAS_GUARDIAN_REDIS_PREFIX", f"{CACHE_KEY_PREFIX}:guardian")
GUARDIAN_REDIS_TIMEOUT_SECONDS = env_float("LUKHAS_GUARDIAN_REDIS_TIMEOUT", 0.5)
# After a Redis error, how long to skip Redis before trying it again.
GUARDIAN_REDIS_RETRY_SECONDS = env_float("LUKHAS_GUARDIAN_REDIS_RETRY_SECONDS", 1.0)
# Redis unreachable: "open" lets requests through unlimited (metric + warning),
# "closed" answers 503.
GUARDIAN_FAIL_MODE = env_choice("LUKHAS_GUARDIAN_FAIL_MODE", "open", {"open", "closed"})
GUARDIAN_IDEMPOTENCY_TTL_SECONDS = env_int("LUKHAS_IDEMPOTENCY_TTL_SECONDS", 86_400)
# An in-flight key whose request never finished (a crashed process) frees up after this.
GUARDIAN_IDEMPOTENCY_LOCK_SECONDS = env_int("LUKHAS_IDEMPOTENCY_LOCK_SECONDS", 300)
GUARDIAN_IDEMPOTENCY_MAX_BYTES = env_int("LUKHAS_IDEMPOTENCY_MAX_BYTES", 4 * 1024 * 1024)
# Share of denials written to the audit log, and at most this many rows a second per process.
GUARDIAN_AUDIT_SAMPLE_RATE = env_float("LUKHAS_GUARDIAN_AUDIT_SAMPLE_RATE", 1.0)
GUARDIAN_AUDIT_MAX_PER_SECOND = env_int("LUKHAS_GUARDIAN_AUDIT_MAX_PER_SECOND", 20)
GUARDIAN_AUDIT_RETENTION_DAYS = env_int("LUKHAS_GUARDIAN_AUDIT_RETENTION_DAYS", 30)
CELERY_BEAT_SCHEDULE["guardian-purge"] = {
    "task": "guardian.purge_expired",
    "schedule": 3600.0,
    "options": {"expires": 1800},
}

# --- Coordination ---
# Tasks, agents, plan import, exports and the GitHub webhook. Every variable is
# documented in docs/coordination.md.

from celery.schedules import crontab as _crontab  # noqa: E402


def _coordination_times(name: str, default: list[str]) -> list[tuple[int, int]]:
    """'08:00,13:00,18:00' -> [(8, 0), (13, 0), (18, 0)], loudly refusing anything else."""
    times = []
    for value in env_list(name, default):
        hour, _, minute = value.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ImproperlyConfigured(f"{name}: {value!r} is not a time like 08:00 (UTC)")
        times.append((int(hour), int(minute)))
    if not times:
        raise ImproperlyConfigured(f"{name} names no time (e.g. 08:00,13:00,18:00)")
    return sorted(set(times))


# When beat takes a snapshot and writes the exports (UTC, like CELERY_TIMEZONE).
COORDINATION_SNAPSHOT_TIMES = _coordination_times(
    "LUKHAS_COORD_SNAPSHOT_TIMES", ["08:00", "13:00", "18:00"]
)
# Where the scheduled snapshot writes task_status.json, COORDINATION_DASHBOARD.md
# and the daily report (relative paths are under LUKHAS_VAR_DIR).
COORDINATION_EXPORT_DIR = VAR_DIR / env_str("LUKHAS_COORD_EXPORT_DIR", "coordination")
# HMAC secret of the GitHub webhook; unset, POST /api/coordination/github answers 503.
COORDINATION_GITHUB_WEBHOOK_SECRET = env_str("LUKHAS_GITHUB_WEBHOOK_SECRET")
# The board shows at most this many cards per status column (filters narrow it).
COORDINATION_BOARD_COLUMN_LIMIT = env_int("LUKHAS_COORD_BOARD_COLUMN_LIMIT", 50)
# Largest plan the upload form and the API accept, bytes.
COORDINATION_UPLOAD_MAX_BYTES = env_int("LUKHAS_COORD_UPLOAD_MAX_BYTES", 2 * 1024 * 1024)
# A plan larger than this (bytes) imports as a job (flow ``plan-import``) with a
# progress bar instead of inside the request; dry runs and ``--sync`` stay in-process.
COORDINATION_PLAN_IMPORT_JOB_BYTES = env_int("LUKHAS_PLAN_IMPORT_JOB_BYTES", 256 * 1024)
for _hour, _minute in COORDINATION_SNAPSHOT_TIMES:
    CELERY_BEAT_SCHEDULE[f"coordination-snapshot-{_hour:02d}{_minute:02d}"] = {
        "task": "coordination.take_snapshot",
        "schedule": _crontab(hour=_hour, minute=_minute),
        # A snapshot that could not run within the hour is not worth taking late.
        "options": {"expires": 3600},
    }

# --- MATRIZ ---
# The cognitive pipeline's runtime, memory folding and dreams. Every variable is
# documented in docs/matriz.md.

import json as _json  # noqa: E402

_MATRIZ_STAGES = ("memory", "attention", "thought", "action", "decision", "awareness")


def _matriz_stages(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of stage names, refusing a name that is not a stage."""
    stages = [value.lower() for value in env_list(name, default)]
    unknown = sorted(set(stages) - set(_MATRIZ_STAGES))
    if unknown:
        raise ImproperlyConfigured(
            f"{name}: {', '.join(unknown)} is not a stage (use {', '.join(_MATRIZ_STAGES)})"
        )
    return stages


def _matriz_stage_timeouts(name: str) -> dict[str, int]:
    """'memory=150,action=200' -> {"memory": 150, "action": 200} (milliseconds)."""
    timeouts = {}
    for pair in env_list(name, []):
        stage, _, value = pair.partition("=")
        stage = stage.strip().lower()
        if stage not in _MATRIZ_STAGES or not value.strip().isdigit() or int(value) < 1:
            raise ImproperlyConfigured(
                f"{name}: {pair!r} is not stage=milliseconds (e.g. memory=150,action=200)"
            )
        timeouts[stage] = int(value)
    return timeouts


def _matriz_plugin_config(name: str) -> dict[str, dict]:
    """JSON object: plugin name -> keyword arguments its factory or constructor may use."""
    raw = env_str(name).strip()
    if not raw:
        return {}
    try:
        value = _json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not JSON: {exc}") from None
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ImproperlyConfigured(
            f'{name} must map plugin names to objects, e.g. {{"node:thought.compose": '
            '{"max_points": 2}}'
        )
    return value


# "auto": every process loads the entry-point plugins at start (MatrizConfig.ready);
# "off": only the built-in nodes, registered by name.
MATRIZ_PLUGIN_DISCOVERY = env_choice("LUKHAS_PLUGIN_DISCOVERY", "auto", {"auto", "off"})
MATRIZ_PLUGIN_CONFIG = _matriz_plugin_config("LUKHAS_MATRIZ_PLUGIN_CONFIG")
# lukhas-matriz-1 answers ops questions with the release's own tools (matriz/tooling.py)
# when no memory index is named; off, it answers only from memory.
MATRIZ_OPS_TOOLS = env_bool("LUKHAS_OPS_TOOLS", True)
# Budgets of one query (the plan's end-to-end target is a p95 under 250 ms; the
# deadline is where a query is cut, not the target).
MATRIZ_DEADLINE_MS = env_int("LUKHAS_MATRIZ_DEADLINE_MS", 500)
MATRIZ_STAGE_TIMEOUT_MS = env_int("LUKHAS_MATRIZ_STAGE_TIMEOUT_MS", 100)
MATRIZ_STAGE_TIMEOUTS_MS = _matriz_stage_timeouts("LUKHAS_MATRIZ_STAGE_TIMEOUTS")
MATRIZ_CRITICAL_STAGES = _matriz_stages("LUKHAS_MATRIZ_CRITICAL_STAGES", ["action"])
# /readyz fails when one of these stages has no node at all.
MATRIZ_REQUIRED_STAGES = _matriz_stages("LUKHAS_MATRIZ_REQUIRED_STAGES", ["memory", "action"])
MATRIZ_TOP_K = env_int("LUKHAS_MATRIZ_TOP_K", 8)
MATRIZ_BREAKERS = env_bool("LUKHAS_MATRIZ_BREAKERS", True)
MATRIZ_BREAKER_FAILURE_RATE = env_float("LUKHAS_MATRIZ_BREAKER_FAILURE_RATE", 50.0)
MATRIZ_BREAKER_SLOW_CALL_MS = env_int("LUKHAS_MATRIZ_BREAKER_SLOW_CALL_MS", 250)
MATRIZ_BREAKER_SLOW_CALL_RATE = env_float("LUKHAS_MATRIZ_BREAKER_SLOW_CALL_RATE", 100.0)
MATRIZ_BREAKER_WINDOW = env_int("LUKHAS_MATRIZ_BREAKER_WINDOW", 20)
MATRIZ_BREAKER_MIN_CALLS = env_int("LUKHAS_MATRIZ_BREAKER_MIN_CALLS", 10)
MATRIZ_BREAKER_OPEN_SECONDS = env_float("LUKHAS_MATRIZ_BREAKER_OPEN_SECONDS", 30.0)
# Memory: the embedder of new indexes and of /v1/embeddings, and the size of what one
# call may write. MiniLM (semantic, 384-d, shipped in main dependencies) by default;
# hashing (lexical, no model) stays selectable and is sized by MATRIZ_EMBEDDING_DIM.
MATRIZ_EMBEDDER = env_choice(
    "LUKHAS_MATRIZ_EMBEDDER", "minilm", {"hashing", "minilm", "onnx-minilm"}
)
MATRIZ_EMBEDDING_DIM = env_int("LUKHAS_MATRIZ_EMBEDDING_DIM", 384)
# Attention keeps memories scoring at least this share of the best one (0: all above
# its fixed floor). A model embedder scores unrelated text ~0.2, hashing ~0: the
# default follows the embedder. LUKHAS_MATRIZ_PLUGIN_CONFIG's "node:attention.rank"
# {"relative_min": x} wins over both.
MATRIZ_ATTENTION_RELATIVE_MIN = env_float(
    "LUKHAS_MATRIZ_ATTENTION_RELATIVE_MIN", 0.0 if MATRIZ_EMBEDDER == "hashing" else 0.6
)
MATRIZ_PLUGIN_CONFIG.setdefault("node:attention.rank", {}).setdefault(
    "relative_min", MATRIZ_ATTENTION_RELATIVE_MIN
)
MATRIZ_ONNX_MODEL_DIR = env_str("LUKHAS_MATRIZ_ONNX_MODEL_DIR")
MATRIZ_MAX_BATCH = env_int("LUKHAS_MATRIZ_MAX_BATCH", 1000)
MATRIZ_MAX_TEXT_CHARS = env_int("LUKHAS_MATRIZ_MAX_TEXT_CHARS", 32_000)
# Folding: near-duplicates (cosine >= threshold) consolidate into one memory,
# every N writes to an index, when it outgrows MAX_ITEMS (0: never), and on beat's round.
MATRIZ_FOLD_THRESHOLD = env_float("LUKHAS_MATRIZ_FOLD_THRESHOLD", 0.92)
# The same for indexes of a model embedder (minilm): there one-word changes (another
# day, another version) score 0.95-0.99, as high as punctuation-only variants, so a
# model index folds only near-exact copies (a missed fold costs space, a wrong one a fact).
MATRIZ_FOLD_THRESHOLD_MODEL = env_float("LUKHAS_MATRIZ_FOLD_THRESHOLD_MODEL", 0.995)
MATRIZ_FOLD_EVERY_N_WRITES = env_int("LUKHAS_MATRIZ_FOLD_EVERY_N_WRITES", 1000)
MATRIZ_FOLD_MAX_ITEMS = env_int("LUKHAS_MATRIZ_FOLD_MAX_ITEMS", 0)
MATRIZ_FOLD_INTERVAL_SECONDS = env_float("LUKHAS_MATRIZ_FOLD_INTERVAL_SECONDS", 3600.0)
# The single-flight lock of one index's fold expires after this (a crashed worker).
MATRIZ_FOLD_LOCK_SECONDS = env_int("LUKHAS_MATRIZ_FOLD_LOCK_SECONDS", 900)
# Deleted memories stay as empty tombstones this long, so processes catch up by delta.
MATRIZ_TOMBSTONE_TTL_SECONDS = env_int("LUKHAS_MATRIZ_TOMBSTONE_TTL_SECONDS", 86_400)
# Dreams: their query budget. They run as jobs (the LUKHAS_JOBS_* settings:
# heartbeat, stale bound, sweep, attempts).
MATRIZ_DREAM_DEADLINE_MS = env_int("LUKHAS_MATRIZ_DREAM_DEADLINE_MS", 2000)
for _name, _value in {
    "LUKHAS_MATRIZ_DEADLINE_MS": MATRIZ_DEADLINE_MS,
    "LUKHAS_MATRIZ_STAGE_TIMEOUT_MS": MATRIZ_STAGE_TIMEOUT_MS,
    "LUKHAS_MATRIZ_TOP_K": MATRIZ_TOP_K,
    "LUKHAS_MATRIZ_MAX_BATCH": MATRIZ_MAX_BATCH,
    "LUKHAS_MATRIZ_MAX_TEXT_CHARS": MATRIZ_MAX_TEXT_CHARS,
    "LUKHAS_MATRIZ_DREAM_DEADLINE_MS": MATRIZ_DREAM_DEADLINE_MS,
}.items():
    if _value < 1:
        raise ImproperlyConfigured(f"{_name}={_value} must be at least 1")
for _name, _value in (
    ("LUKHAS_MATRIZ_FOLD_THRESHOLD", MATRIZ_FOLD_THRESHOLD),
    ("LUKHAS_MATRIZ_FOLD_THRESHOLD_MODEL", MATRIZ_FOLD_THRESHOLD_MODEL),
):
    if not 0 < _value <= 1:
        raise ImproperlyConfigured(f"{_name}={_value} is a cosine in (0, 1]")
CELERY_BEAT_SCHEDULE["matriz-fold"] = {
    # No index argument: folds every index written to since its last fold.
    "task": "matriz.fold_index",
    "schedule": MATRIZ_FOLD_INTERVAL_SECONDS,
    "options": {"expires": max(60.0, MATRIZ_FOLD_INTERVAL_SECONDS / 2)},
}

# --- Jobs ---
# Jobs and flows (jobs/, docs/jobs.md): durable multi-step work on Celery.

# A running step writes a heartbeat this often; the sweeper (every SWEEP
# seconds, on beat) resumes a step whose heartbeat is older than STALE.
JOBS_HEARTBEAT_SECONDS = env_float("LUKHAS_JOBS_HEARTBEAT_SECONDS", 10.0)
JOBS_STALE_SECONDS = env_float("LUKHAS_JOBS_STALE_SECONDS", 60.0)
JOBS_SWEEP_SECONDS = env_float("LUKHAS_JOBS_SWEEP_SECONDS", 30.0)
# A job whose worker was lost this many times fails with the reason (a flow may say otherwise).
JOBS_MAX_ATTEMPTS = env_int("LUKHAS_JOBS_MAX_ATTEMPTS", 3)
# Lines of log a job keeps (oldest dropped first).
JOBS_LOG_LINES = env_int("LUKHAS_JOBS_LOG_LINES", 200)
# Modules that declare flows, besides every app's flows.py (tests add theirs here).
JOBS_FLOW_MODULES = env_list("LUKHAS_FLOW_MODULES", [])
# Where people open a job's page (the CLI prints <base>/jobs/<id>/).
JOBS_BASE_URL = env_str("LUKHAS_BASE_URL", "http://127.0.0.1:8000")
if JOBS_HEARTBEAT_SECONDS <= 0 or JOBS_STALE_SECONDS < 2 * JOBS_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        f"LUKHAS_JOBS_STALE_SECONDS={JOBS_STALE_SECONDS} must be at least twice "
        f"LUKHAS_JOBS_HEARTBEAT_SECONDS={JOBS_HEARTBEAT_SECONDS} (one missed beat is not death)"
    )
if JOBS_MAX_ATTEMPTS < 1 or JOBS_LOG_LINES < 1:
    raise ImproperlyConfigured("LUKHAS_JOBS_MAX_ATTEMPTS and LUKHAS_JOBS_LOG_LINES must be >= 1")
CELERY_BEAT_SCHEDULE["jobs-sweep"] = {
    "task": "jobs.sweep",
    "schedule": JOBS_SWEEP_SECONDS,
    "options": {"expires": max(5.0, JOBS_SWEEP_SECONDS)},
}

# --- Façade ---
# The /v1 OpenAI-compatible façade (matriz/facade, docs/facade.md). With
# LUKHAS_UPSTREAM_BASE_URL set, the action step of the mapped models asks that
# OpenAI-compatible server (behind a circuit breaker) and falls back to the
# local answer when it fails.
FACADE_UPSTREAM_BASE_URL = env_str("LUKHAS_UPSTREAM_BASE_URL").rstrip("/")
FACADE_UPSTREAM_API_KEY = env_str("LUKHAS_UPSTREAM_API_KEY")
# "local=upstream" pairs, comma-separated: lukhas-matriz-1=gpt-4o-mini
FACADE_UPSTREAM_MODEL_MAP = dict(
    pair.split("=", 1) for pair in env_list("LUKHAS_UPSTREAM_MODEL_MAP", []) if "=" in pair
)
FACADE_UPSTREAM_TIMEOUT_SECONDS = env_float("LUKHAS_UPSTREAM_TIMEOUT_SECONDS", 30.0)
# Rounds of the release's own tools the façade runs for the upstream in one answer.
FACADE_TOOL_ROUNDS = env_int("LUKHAS_UPSTREAM_TOOL_ROUNDS", 3)
# "alias=model" pairs, comma-separated: clients written for OpenAI's names keep
# them (gpt-4o-mini=lukhas-matriz-1,text-embedding-3-small=lukhas-embed-1).
# /v1/models lists each alias; answers name the model that answered.
FACADE_MODEL_ALIASES = dict(
    (alias.strip(), target.strip())
    for alias, target in (
        pair.split("=", 1) for pair in env_list("LUKHAS_MODEL_ALIASES", []) if "=" in pair
    )
)
# A stream quiet this long gets an SSE comment line (proxies close idle streams).
FACADE_HEARTBEAT_SECONDS = env_float("LUKHAS_FACADE_HEARTBEAT_SECONDS", 10.0)

# --- HTTP edge limits ---
# README "Production" lists them with their numbers. The body limit is applied
# twice on purpose: by the ASGI guard (lukhas_site/edge.py: 413 before the body
# is read) and by Django itself under WSGI, where the site's
# ErrorEnvelopeMiddleware answers the same 413. 16 MiB holds the biggest
# request the /v1 limits allow: 2,048 messages sharing the façade's 1,000,000
# input characters in the worst JSON encoding (12 bytes per character), about
# 13.7 MB with maximal names (tests/edges/test_edge_limits.py measures it).
MAX_BODY_BYTES = env_int("LUKHAS_MAX_BODY_BYTES", 16 * 1024 * 1024)
if MAX_BODY_BYTES < 1:
    raise ImproperlyConfigured(f"LUKHAS_MAX_BODY_BYTES={MAX_BODY_BYTES} must be at least 1")
# Equal, so Django never raises RequestDataTooBig below the guard's limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES
# A body that stops arriving for this long is answered 408 (nginx's client_body_timeout).
BODY_TIMEOUT = env_float("LUKHAS_BODY_TIMEOUT", 30.0)
# /metrics without LUKHAS_METRICS_TOKEN: open in development, refused in
# production unless this says it is public on purpose (lukhas.W010).
METRICS_PUBLIC = env_bool("LUKHAS_METRICS_PUBLIC", False)
# Every error under /v1 and /api is JSON: right after the ids and metrics, so
# its answers carry both. (Probes skip the host check in lukhas_site/edge.py.)
MIDDLEWARE.insert(
    MIDDLEWARE.index("lukhas_site.middleware.MetricsMiddleware") + 1,
    "lukhas_site.middleware.ErrorEnvelopeMiddleware",
)
# CORS for /v1 (django-cors-headers), off until LUKHAS_CORS_ORIGINS names
# origins (https://app.example.com, comma-separated). Outside the error
# envelope and Guardian: a preflight carries no key and is answered here, and
# a 401 or 429 still reaches the browser's code with its headers readable.
INSTALLED_APPS.append("corsheaders")
MIDDLEWARE.insert(
    MIDDLEWARE.index("lukhas_site.middleware.MetricsMiddleware") + 1,
    "corsheaders.middleware.CorsMiddleware",
)
CORS_ALLOWED_ORIGINS = env_list("LUKHAS_CORS_ORIGINS", [])
CORS_URLS_REGEX = r"^/v1/.*$"
CORS_ALLOW_CREDENTIALS = False  # bearer keys, never the dashboard's cookies
CORS_PREFLIGHT_MAX_AGE = 600
# What the official SDKs send (the JS SDK's x-stainless-* headers included).
CORS_ALLOW_HEADERS = (
    "accept", "authorization", "content-type", "user-agent", "idempotency-key",
    "x-request-id", "openai-organization", "openai-project", "openai-beta",
    "x-stainless-arch", "x-stainless-lang", "x-stainless-os", "x-stainless-package-version",
    "x-stainless-retry-count", "x-stainless-runtime", "x-stainless-runtime-version",
    "x-stainless-timeout", "x-stainless-helper-method", "x-stainless-async",
    "x-stainless-poll-helper", "x-stainless-custom-poll-interval",
)  # fmt: skip
# Readable by the browser's code: ids, timing, limits and when to retry.
CORS_EXPOSE_HEADERS = (
    "x-request-id", "openai-processing-ms", "retry-after", "x-lukhas-ignored-params",
    "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens",
)  # fmt: skip
# --- Sign-in (accounts) ---
# Brute-force lockout (django-axes), login audit, single sign-on (OIDC,
# mozilla-django-oidc) and session lifetimes. Every variable is documented in
# docs/sign-in.md.

import ipaddress as _ipaddress  # noqa: E402
import json as _accounts_json  # noqa: E402
from datetime import timedelta as _timedelta  # noqa: E402

# accounts after axes: its admin re-registers axes' AccessAttempt with an Unlock
# action, and its signal receivers run after axes' handler.
INSTALLED_APPS += ["axes", "accounts.apps.AccountsConfig"]
# Right after authentication, before Guardian: an idle or too-old session is
# ended before anything treats it as a principal.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "accounts.middleware.SessionLifetimeMiddleware",
)
# Last, as django-axes asks: turns its lockout flag into the 429 answer.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")

ACCOUNTS_PASSWORD_LOGIN = env_bool("LUKHAS_LOGIN_PASSWORD", True)
OIDC_ENABLED = env_bool("LUKHAS_OIDC_ENABLED", False)
if not (ACCOUNTS_PASSWORD_LOGIN or OIDC_ENABLED):
    raise ImproperlyConfigured(
        "LUKHAS_LOGIN_PASSWORD=false leaves no way to sign in: set LUKHAS_OIDC_ENABLED=true too"
    )
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before any password is checked.
    "accounts.backends.LockoutBackend",
    *(["django.contrib.auth.backends.ModelBackend"] if ACCOUNTS_PASSWORD_LOGIN else []),
    *(["accounts.oidc.SignInBackend"] if OIDC_ENABLED else []),
]

# Lockout: N failures per username, and N per client address, each counted
# while the failures come less than the cool-off apart; then refused until the
# cool-off has passed since the last attempt. The database handler: every web
# process sees the same counters (PostgreSQL in production), and the admin can
# unlock by deleting them.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("LUKHAS_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = _timedelta(seconds=env_int("LUKHAS_LOGIN_COOLOFF_SECONDS", 900))
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME.total_seconds() < 1:
    raise ImproperlyConfigured(
        "LUKHAS_LOGIN_FAILURE_LIMIT and LUKHAS_LOGIN_COOLOFF_SECONDS must be at least 1"
    )
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success must not wipe the counters: it would let anyone with one working
# account reset the address counter of the address they attack from.
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Successes and failures are kept this long (beat's accounts.purge_audit, daily).
ACCOUNTS_AUDIT_RETENTION_DAYS = env_int("LUKHAS_LOGIN_AUDIT_RETENTION_DAYS", 90)
CELERY_BEAT_SCHEDULE["accounts-purge-audit"] = {
    "task": "accounts.purge_audit",
    "schedule": 86_400.0,
    "options": {"expires": 43_200},
}
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_CLIENT_IP_CALLABLE = "accounts.addresses.client_address"
# Masked in the stored form data and in axes' log lines (the password always is).
AXES_SENSITIVE_PARAMETERS = [
    "username", "ip_address", "password", "code", "state", "csrfmiddlewaretoken",
]  # fmt: skip
# Behind a proxy: the header that carries the client address (e.g. X-Forwarded-For),
# believed only from these peers (addresses or networks).
_client_ip_header = env_str("LUKHAS_LOGIN_CLIENT_IP_HEADER").strip()
ACCOUNTS_CLIENT_IP_HEADER = (
    "HTTP_" + _client_ip_header.upper().replace("-", "_") if _client_ip_header else ""
)
try:
    ACCOUNTS_TRUSTED_PROXIES = [
        _ipaddress.ip_network(value, strict=False)
        for value in env_list("LUKHAS_LOGIN_TRUSTED_PROXIES", [])
    ]
except ValueError as _exc:
    raise ImproperlyConfigured(f"LUKHAS_LOGIN_TRUSTED_PROXIES: {_exc}") from None
if ACCOUNTS_CLIENT_IP_HEADER and not ACCOUNTS_TRUSTED_PROXIES:
    raise ImproperlyConfigured(
        "LUKHAS_LOGIN_CLIENT_IP_HEADER needs LUKHAS_LOGIN_TRUSTED_PROXIES (the proxies allowed "
        "to set it); otherwise any client could choose its own address"
    )

# Sessions: an idle timeout and an absolute lifetime (accounts.middleware).
ACCOUNTS_SESSION_IDLE_SECONDS = env_int("LUKHAS_SESSION_IDLE_SECONDS", 2 * 3600)
ACCOUNTS_SESSION_MAX_AGE_SECONDS = env_int("LUKHAS_SESSION_MAX_AGE_SECONDS", 12 * 3600)
if not 0 < ACCOUNTS_SESSION_IDLE_SECONDS <= ACCOUNTS_SESSION_MAX_AGE_SECONDS:
    raise ImproperlyConfigured(
        "LUKHAS_SESSION_IDLE_SECONDS must be positive and at most LUKHAS_SESSION_MAX_AGE_SECONDS"
    )
SESSION_COOKIE_AGE = ACCOUNTS_SESSION_MAX_AGE_SECONDS
SESSION_COOKIE_SAMESITE = "Lax"  # the provider's redirect back is a top-level GET: Lax is sent

# Single sign-on (off by default). The endpoints come from the issuer's discovery document.
OIDC_ISSUER = env_str("LUKHAS_OIDC_ISSUER").strip().rstrip("/")
OIDC_RP_CLIENT_ID = env_str("LUKHAS_OIDC_CLIENT_ID").strip()
OIDC_RP_CLIENT_SECRET = ""
OIDC_PROVIDER_NAME = env_str("LUKHAS_OIDC_PROVIDER_NAME", "single sign-on").strip()
# Add the scope that carries groups where the provider has one (Okta, Authentik: groups).
OIDC_RP_SCOPES = env_str("LUKHAS_OIDC_SCOPES", "openid email profile").strip()
OIDC_GROUPS_CLAIM = env_str("LUKHAS_OIDC_GROUPS_CLAIM", "groups").strip()
OIDC_ALLOWED_DOMAINS = [d.lower() for d in env_list("LUKHAS_OIDC_ALLOWED_DOMAINS", [])]
OIDC_ALLOWED_GROUPS = env_list("LUKHAS_OIDC_ALLOWED_GROUPS", [])
OIDC_RP_SIGN_ALGO = env_str("LUKHAS_OIDC_SIGN_ALGO", "RS256").strip()
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_float("LUKHAS_OIDC_TIMEOUT_SECONDS", 5.0)
OIDC_AUTHENTICATE_CLASS = "accounts.oidc.SignInRequestView"
OIDC_CALLBACK_CLASS = "accounts.oidc.SignInCallbackView"
# mozilla-django-oidc redirects here as is (a path, not a URL name); the page shows why.
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"


def _oidc_group_map(name: str) -> dict[str, dict]:
    """JSON: provider group -> {"groups", "permissions" (app.codename), "staff", "superuser"}."""
    raw = env_str(name).strip()
    if not raw:
        return {}
    try:
        value = _accounts_json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not JSON: {exc}") from None
    example = (
        '{"release-team": {"groups": ["coordinators"], '
        '"permissions": ["coordination.change_task"]}}'
    )
    keys = {"groups", "permissions", "staff", "superuser"}
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object, e.g. {example}")
    for group, rule in value.items():
        if not isinstance(rule, dict) or set(rule) - keys:
            raise ImproperlyConfigured(
                f"{name}[{group!r}] may only have groups, permissions, staff, superuser: {example}"
            )
        for key in ("groups", "permissions"):
            items = rule.get(key, [])
            if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
                raise ImproperlyConfigured(f"{name}[{group!r}].{key} must be a list of names")
        if any(p.count(".") != 1 for p in rule.get("permissions", [])):
            raise ImproperlyConfigured(f"{name}[{group!r}].permissions are app_label.codename")
        for key in ("staff", "superuser"):
            if not isinstance(rule.get(key, False), bool):
                raise ImproperlyConfigured(f"{name}[{group!r}].{key} must be true or false")
    return value


OIDC_GROUP_MAP = _oidc_group_map("LUKHAS_OIDC_GROUP_MAP")
if OIDC_ENABLED:
    if not OIDC_ISSUER.startswith(("https://", "http://")) or not OIDC_RP_CLIENT_ID:
        raise ImproperlyConfigured(
            "LUKHAS_OIDC_ENABLED=true needs LUKHAS_OIDC_ISSUER (an http(s) URL) and "
            "LUKHAS_OIDC_CLIENT_ID"
        )
    _secret_file = env_str("LUKHAS_OIDC_CLIENT_SECRET_FILE").strip()
    if not _secret_file:
        raise ImproperlyConfigured(
            "LUKHAS_OIDC_ENABLED=true needs LUKHAS_OIDC_CLIENT_SECRET_FILE (a file holding the "
            "client secret; never the secret itself in the environment)"
        )
    try:
        OIDC_RP_CLIENT_SECRET = Path(_secret_file).read_text().strip()
    except OSError as _exc:
        raise ImproperlyConfigured(f"LUKHAS_OIDC_CLIENT_SECRET_FILE: {_exc}") from None
    if not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured(f"LUKHAS_OIDC_CLIENT_SECRET_FILE={_secret_file} is empty")

# --- Audits ---
# Codebase health reports (audits/, docs/audits.md).

# Where reports are written: <dir>/docs/audits/health/latest.json and friends
# (the soak app's `health` gate source reads the same variable). Relative
# paths are from the checkout (BASE_DIR); `.` writes into this checkout's docs/.
AUDITS_ARTIFACTS_DIR = (
    BASE_DIR / env_str("LUKHAS_AUDITS_ARTIFACTS_DIR", str(VAR_DIR / "audits"))
).resolve()
# Scratch space of the collectors (junit XML, coverage data, the SBOM before it is copied).
AUDITS_WORK_DIR = VAR_DIR / "audits-work"
# The lanes config of the codebase audited by default (`make health-audit`).
AUDITS_DEFAULT_CONFIG = env_str("LUKHAS_AUDITS_DEFAULT_CONFIG", "configs/audits/lukhas.yaml")
# Characters of a tool's output a CollectorRun keeps (head and tail).
AUDITS_RAW_OUTPUT_CHARS = env_int("LUKHAS_AUDITS_RAW_OUTPUT_CHARS", 65_536)
# When the nightly audit of each codebase runs (UTC), a PeriodicTask per codebase.
AUDITS_NIGHTLY_AT = _coordination_times("LUKHAS_AUDITS_NIGHTLY_AT", ["02:30"])[0]
if AUDITS_RAW_OUTPUT_CHARS < 1024:
    raise ImproperlyConfigured("LUKHAS_AUDITS_RAW_OUTPUT_CHARS must be at least 1024")
# --- Soak (core) ---
# RC soak runs, the sentinel and GA gates (soak/, docs/soak.md).

# The GA gates file (its sha256 is stored with every evaluation).
SOAK_GATES_FILE = env_str("LUKHAS_SOAK_GATES_FILE", str(BASE_DIR / "configs/soak/ga_gates.yaml"))
# A running soak takes a snapshot (every gate evaluated) this often.
SOAK_SNAPSHOT_SECONDS = env_float("LUKHAS_SOAK_SNAPSHOT_SECONDS", 3600.0)
# The sentinel's beat: the embedded source's scrape of the target at each one,
# and a snapshot when one is due.
SOAK_SAMPLE_SECONDS = env_float("LUKHAS_SOAK_SAMPLE_SECONDS", 60.0)
# Where the sentinel writes docs/audits/health/<date>/latest.{json,md}.
SOAK_ARTIFACTS_DIR = Path(env_str("LUKHAS_SOAK_ARTIFACTS_DIR", str(VAR_DIR / "soak"))).resolve()
# Where the health gates read reports (the audits app's artifacts directory).
SOAK_HEALTH_DIR = str(AUDITS_ARTIFACTS_DIR)
# Prometheus' HTTP API: PromQL gates and ALERTS; empty = the embedded source.
SOAK_PROMETHEUS_URL = env_str("LUKHAS_PROMETHEUS_URL").rstrip("/")
SOAK_GRAFANA_URL = env_str("LUKHAS_GRAFANA_URL").rstrip("/")
# The signed outgoing webhook of soak events (run failed, finished, aborted).
SOAK_WEBHOOK_URL = env_str("LUKHAS_SOAK_WEBHOOK_URL")
SOAK_WEBHOOK_SECRET = env_str("LUKHAS_SOAK_WEBHOOK_SECRET")
# Releases besides the active ones that keep their series on /metrics.
SOAK_METRICS_RELEASES = env_int("LUKHAS_SOAK_METRICS_RELEASES", 5)
if SOAK_SNAPSHOT_SECONDS <= 0 or SOAK_SAMPLE_SECONDS <= 0:
    raise ImproperlyConfigured(
        "LUKHAS_SOAK_SNAPSHOT_SECONDS and LUKHAS_SOAK_SAMPLE_SECONDS must be positive"
    )
if SOAK_WEBHOOK_URL and not SOAK_WEBHOOK_SECRET:
    raise ImproperlyConfigured("LUKHAS_SOAK_WEBHOOK_URL needs LUKHAS_SOAK_WEBHOOK_SECRET to sign")
CELERY_BEAT_SCHEDULE["soak-sentinel"] = {
    "task": "soak.sentinel",
    "schedule": SOAK_SAMPLE_SECONDS,
    "options": {"expires": max(5.0, SOAK_SAMPLE_SECONDS)},
}
# --- Soak (sources) ---
# The metrics and probe sources of the GA gates (docs/soak-sources.md). The
# Prometheus URL itself is LUKHAS_PROMETHEUS_URL (SOAK_PROMETHEUS_URL, soak core).

# How long one PromQL query, one /metrics scrape or one probe operation may take.
SOAK_PROMETHEUS_TIMEOUT = env_float("LUKHAS_PROMETHEUS_TIMEOUT", 10.0)
SOAK_SCRAPE_TIMEOUT = env_float("LUKHAS_SOAK_SCRAPE_TIMEOUT", 10.0)
SOAK_PROBE_TIMEOUT = env_float("LUKHAS_SOAK_PROBE_TIMEOUT", 30.0)
# This site as the sentinel reaches it (a soak run without target URL soaks it):
# loopback, not LUKHAS_BASE_URL, whose proxy may refuse /metrics.
SOAK_SELF_URL = env_str("LUKHAS_SOAK_SELF_URL", "http://127.0.0.1:8000").rstrip("/")
# The bearer token for the target's /metrics; this site's own token by default.
SOAK_METRICS_TOKEN = env_str("LUKHAS_SOAK_METRICS_TOKEN") or METRICS_TOKEN
# The probes' API key on a target that is not this site (this site: minted, var/).
SOAK_PROBE_API_KEY = env_str("LUKHAS_SOAK_PROBE_API_KEY")
if min(SOAK_PROMETHEUS_TIMEOUT, SOAK_SCRAPE_TIMEOUT, SOAK_PROBE_TIMEOUT) <= 0:
    raise ImproperlyConfigured(
        "LUKHAS_PROMETHEUS_TIMEOUT, LUKHAS_SOAK_SCRAPE_TIMEOUT and LUKHAS_SOAK_PROBE_TIMEOUT "
        "must be positive"
    )

# --- Soak (promotion and pages) ---
# Promotion to GA (soak/flows.py, docs/soak-ui.md): the git repository a
# promoted release is tagged in (annotated tag v<version>); empty = no tagging.
RELEASE_REPO = env_str("LUKHAS_RELEASE_REPO")
# Dry run by default: the tag step prints the git command instead of running it.
RELEASE_TAG_DRY_RUN = env_bool("LUKHAS_RELEASE_TAG_DRY_RUN", True)
# How long promotion waits for a person to decide its inconclusive gates (seconds),
# and how often it looks.
SOAK_APPROVAL_TIMEOUT_SECONDS = env_float("LUKHAS_SOAK_APPROVAL_TIMEOUT_SECONDS", 2 * 86_400.0)
SOAK_APPROVAL_POLL_SECONDS = env_float("LUKHAS_SOAK_APPROVAL_POLL_SECONDS", 15.0)

# --- Soak (load) ---
# The synthetic load of soaks, Locust as its own process (soak/load/, docs/soak-load.md).

# The load profile `make soak-load` and the soak runs use.
SOAK_LOAD_PROFILE = env_str(
    "LUKHAS_SOAK_LOAD_PROFILE", str(BASE_DIR / "configs/soak/load_profile.yaml")
)
# The load's API key on a target that is not this site (this site: the `soak`
# tenant's `soak-load` key, minted into var/soak-load-key, 0600).
SOAK_LOAD_API_KEY = env_str("LUKHAS_SOAK_LOAD_API_KEY")
# Whether a soak run starts the load (off in the test suite's defaults, so the
# soak tests that start runs do not each start Locust; tests/soak/test_load.py
# turns it on). `make soak-load` runs regardless.
SOAK_LOAD_ENABLED = env_bool("LUKHAS_SOAK_LOAD_ENABLED", True)
# A soak's load quits once the sentinel has not renewed its lease for this long
# (a stopped beat or worker, a stopped `make run`): default 5 sentinel beats, at least 5 min.
SOAK_LOAD_LEASE_SECONDS = env_float(
    "LUKHAS_SOAK_LOAD_LEASE_SECONDS", max(300.0, 5 * SOAK_SAMPLE_SECONDS)
)

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
    "guardian.apps.GuardianConfig",
    "matriz.apps.MatrizConfig",
    "coordination.apps.CoordinationConfig",
    "soak.apps.SoakConfig",
    "audits.apps.AuditsConfig",
]

MIDDLEWARE = [
    # First, so every response (even a 500 or a redirect) carries the ids and
    # every log line below it knows them.
    "lukhas_site.middleware.RequestContextMiddleware",
    "lukhas_site.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("LUKHAS_DB_CONN_MAX_AGE", 0 if DEBUG else 60),
        conn_health_checks=True,
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
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }

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

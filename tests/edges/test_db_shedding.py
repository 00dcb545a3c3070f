"""A full database is a 503 + Retry-After in the path's envelope; pool settings are checked.

The burst itself, against a real PostgreSQL, is tests/edges/test_db_pool.py
(integration); these run on any database. The exceptions are the real ones
psycopg and Django raise (``PoolTimeout`` wrapped in Django's
``OperationalError``, PostgreSQL's "too many clients").
"""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.db.utils import DatabaseError
from django.http import HttpResponse, HttpResponseServerError
from django.test import RequestFactory
from psycopg_pool import PoolTimeout, TooManyRequests

from lukhas_site import checks, dbpool
from tests.guardian.helpers import sample


def wrapped(cause: Exception) -> OperationalError:
    """What Django raises: its OperationalError, psycopg's error as the cause."""
    try:
        try:
            raise cause
        except Exception as exc:
            raise OperationalError(str(exc)) from exc
    except OperationalError as django_error:
        return django_error


class TestReason:
    def test_it_names_a_pool_timeout_inside_djangos_error(self):
        assert dbpool.exhaustion_reason(wrapped(PoolTimeout("couldn't get a connection"))) == (
            "pool_timeout"
        )

    def test_it_names_a_full_queue(self):
        assert dbpool.exhaustion_reason(TooManyRequests("too many requests queued")) == (
            "pool_queue_full"
        )

    def test_it_names_a_full_server(self):
        message = "connection failed: FATAL:  sorry, too many clients already"
        assert dbpool.exhaustion_reason(OperationalError(message)) == "server_full"
        reserved = "FATAL: remaining connection slots are reserved for roles with SUPERUSER"
        assert dbpool.exhaustion_reason(wrapped(Exception(reserved))) == "server_full"

    def test_it_leaves_other_database_errors_alone(self):
        assert dbpool.exhaustion_reason(OperationalError("connection refused")) is None
        assert dbpool.exhaustion_reason(DatabaseError("datatype mismatch")) is None
        assert dbpool.exhaustion_reason(ValueError("nope")) is None
        assert dbpool.exhaustion_reason(None) is None


class TestResponse:
    @pytest.fixture
    def rf(self):
        return RequestFactory()

    def test_it_answers_the_openai_envelope_on_v1(self, rf, settings):
        settings.DB_RETRY_AFTER_SECONDS = 3
        before = sample("lukhas_db_pool_timeouts_total")
        response = dbpool.unavailable_response(rf.get("/v1/models"), "pool_timeout")
        assert response.status_code == 503
        assert response["Retry-After"] == "3"
        error = json.loads(response.content)["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "server_error"
        assert error["code"] == "database_busy"
        assert sample("lukhas_db_pool_timeouts_total") == before + 1

    def test_it_answers_the_ops_envelope_on_api(self, rf):
        before = sample("lukhas_db_unavailable_total", reason="server_full")
        response = dbpool.unavailable_response(rf.get("/api/coordination/tasks"), "server_full")
        assert response.status_code == 503
        error = json.loads(response.content)["error"]
        assert error["code"] == "database_busy"
        assert "type" not in error
        assert response["Retry-After"].isdigit()
        assert sample("lukhas_db_unavailable_total", reason="server_full") == before + 1

    def test_it_answers_an_html_page_elsewhere(self, rf):
        response = dbpool.unavailable_response(rf.get("/coordination/"), "pool_timeout")
        assert response.status_code == 503
        assert response["Retry-After"].isdigit()
        assert b"Busy, try again shortly" in response.content
        assert b"<html" in response.content


class TestMiddleware:
    def test_it_turns_the_500_of_an_exhausted_database_into_a_503(self, rf):
        """Django renders a middleware's exception as 500; the signal marked why."""
        request = rf.get("/v1/models")
        middleware = dbpool.DatabaseUnavailableMiddleware(lambda r: HttpResponseServerError())
        try:
            raise wrapped(PoolTimeout("couldn't get a connection after 5.00 sec"))
        except OperationalError:
            dbpool._mark_request(sender=None, request=request)
        response = middleware(request)
        assert response.status_code == 503
        assert json.loads(response.content)["error"]["code"] == "database_busy"

    def test_it_keeps_a_500_that_is_not_about_connections(self, rf):
        request = rf.get("/v1/models")
        middleware = dbpool.DatabaseUnavailableMiddleware(lambda r: HttpResponseServerError())
        try:
            raise ValueError("a real bug")
        except ValueError:
            dbpool._mark_request(sender=None, request=request)
        assert middleware(request).status_code == 500

    def test_it_catches_a_page_views_exception(self, rf):
        middleware = dbpool.DatabaseUnavailableMiddleware(lambda r: HttpResponse())
        request = rf.get("/matriz/")
        exc = wrapped(Exception("FATAL: sorry, too many clients already"))
        response = middleware.process_exception(request, exc)
        assert response.status_code == 503
        assert middleware.process_exception(request, ValueError("bug")) is None

    def test_it_keeps_djangos_crash_log_for_real_crashes_only(self):
        import logging
        import sys

        def record(exc: BaseException) -> logging.LogRecord:
            try:
                raise exc
            except BaseException:
                info = sys.exc_info()
            return logging.LogRecord("django.request", 40, __file__, 1, "boom", (), info)

        assert dbpool._not_a_crash(record(wrapped(PoolTimeout("timeout")))) is False
        assert dbpool._not_a_crash(record(ValueError("bug"))) is True


class TestApiRoots:
    """A view under /v1 or /api that finds no connection: ninja's handler sheds it too."""

    def test_it_sheds_in_the_roots_own_exception_handler(self):
        from lukhas_site.api import api, v1

        exc = wrapped(PoolTimeout("couldn't get a connection after 5.00 sec"))
        rf = RequestFactory()
        openai = v1.on_exception(rf.get("/v1/models"), exc)
        assert openai.status_code == 503
        assert json.loads(openai.content)["error"]["type"] == "server_error"
        ops = api.on_exception(rf.get("/api/coordination/tasks"), exc)
        assert ops.status_code == 503
        assert json.loads(ops.content)["error"]["code"] == "database_busy"
        assert ops["Retry-After"].isdigit()

    def test_it_still_answers_500_for_a_crash(self):
        from lukhas_site.api import api

        request = RequestFactory().get("/api/coordination/tasks")
        request.request_id = "r-1"
        assert api.on_exception(request, DatabaseError("datatype mismatch")).status_code == 500


class TestPoolCheck:
    def entry(self, conn_max_age: int = 0, **pool: object) -> dict:
        options = {"min_size": 2, "max_size": 10, "timeout": 5.0, "max_idle": 60.0}
        return {"CONN_MAX_AGE": conn_max_age, "OPTIONS": {"pool": options | pool}}

    def test_it_accepts_the_defaults(self):
        assert checks.db_pool_problems(self.entry()) == []

    def test_it_refuses_persistent_connections_with_the_pool(self):
        (error,) = checks.db_pool_problems(self.entry(conn_max_age=60))
        assert error.id == "lukhas.E020"
        assert "LUKHAS_DB_CONN_MAX_AGE=60" in error.msg

    def test_it_refuses_a_minimum_above_the_maximum(self):
        (error,) = checks.db_pool_problems(self.entry(min_size=5, max_size=3))
        assert error.id == "lukhas.E021"

    def test_it_refuses_a_zero_timeout_and_a_negative_queue(self):
        ids = {e.id for e in checks.db_pool_problems(self.entry(timeout=0, max_waiting=-1))}
        assert ids == {"lukhas.E022", "lukhas.E023"}

    def test_it_says_nothing_without_a_pool(self):
        assert checks.db_pool_problems({"CONN_MAX_AGE": 60, "OPTIONS": {}}) == []

    # Only the check reads the overridden entry; no connection is made with it.
    @pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
    def test_it_warns_about_postgresql_without_a_pool_in_production(self, settings):
        settings.PRODUCTION = True
        settings.DATABASES = {
            **settings.DATABASES,
            "default": {
                **settings.DATABASES["default"],
                "ENGINE": "django.db.backends.postgresql",
                "OPTIONS": {},
            },
        }
        (warning,) = checks.check_production_db_pool()
        assert warning.id == "lukhas.W020"


class TestSettings:
    def test_it_pools_postgresql_with_conn_max_age_zero(self, tmp_path):
        """The settings module, read fresh in a child process with a PostgreSQL URL."""
        import subprocess
        import sys

        code = (
            "import json; from django.conf import settings; d = settings.DATABASES['default'];"
            "print(json.dumps([d['CONN_MAX_AGE'], d['OPTIONS'].get('pool')]))"
        )
        env = {
            "DJANGO_SETTINGS_MODULE": "lukhas_site.settings",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/nowhere",
            "LUKHAS_VAR_DIR": str(tmp_path),
            "LUKHAS_DB_POOL_MAX": "7",
            "PATH": "/usr/bin:/bin",
        }
        out = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        conn_max_age, pool = json.loads(out.stdout.strip().splitlines()[-1])
        assert conn_max_age == 0
        assert pool == {
            "min_size": 2, "max_size": 7, "timeout": 5.0, "max_idle": 60.0, "max_waiting": 0,
        }  # fmt: skip
        off = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            env={**env, "LUKHAS_DB_POOL": "false"}, capture_output=True, text=True,
            check=True, timeout=60,
        )  # fmt: skip
        assert json.loads(off.stdout.strip().splitlines()[-1]) == [60, None]

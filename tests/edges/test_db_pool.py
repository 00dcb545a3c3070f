"""A burst against two web processes on a small PostgreSQL: 503 + Retry-After, never 500.

Issue 10, finding 1: without a pool every in-flight request held its own
connection, so two web processes under a burst exhausted PostgreSQL's
``max_connections`` and answered 500 (an HTML page, even on ``/v1``). Here
the test starts its OWN PostgreSQL cluster under ``var/`` (initdb + pg_ctl,
``max_connections=20``: the machine's shared server is never touched), two
uvicorn processes with a pool of 6 each, on Redis (``REDIS_URL``), and fires
300 concurrent requests: ``/v1/models`` with an API key and ``/api`` ops reads.

The same burst can be run by hand against any checkout, e.g. the commit
before the pool, to get the "before" figure::

    git archive 9571e79 | tar -x -C var/before-src
    REDIS_URL=redis://127.0.0.1:6379/10 .venv/bin/python -m tests.edges.test_db_pool \\
        --source var/before-src --pool off
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.guardian.helpers import LiveSite, free_port
from tests.guardian.kit import derive_plaintext
from tests.services import REPO, require_redis, unavailable

pytestmark = pytest.mark.integration

MAX_CONNECTIONS = 20
WEB_PROCESSES = 2
POOL_MAX = 6
BURST = 300
SECRET_KEY = "edges-test-secret-key-not-for-production-" + "x" * 20
METRICS_TOKEN = "edges-metrics-token"
DB_NAME = "lukhas_edges"
PATHS = ("/v1/models", "/api/coordination/tasks", "/api/guardian/me")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class OwnPostgres:
    """A PostgreSQL cluster of this test's own, under var/, with a low max_connections."""

    def __init__(self, workdir: Path, *, max_connections: int = MAX_CONNECTIONS) -> None:
        self.bin = _pg_bin()
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = free_port()
        self.max_connections = max_connections

    def _run(self, *cmd: str) -> subprocess.CompletedProcess:
        # initdb and postgres refuse to run as root: run them as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *cmd], check=True, capture_output=True, text=True, timeout=120
        )

    def start(self) -> OwnPostgres:
        if self.bin is None:
            unavailable("no initdb under /usr/lib/postgresql/*/bin")
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories="
            f"{self.workdir} -c max_connections={self.max_connections} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.workdir / "postgres.log"), "-w", "start",
        )  # fmt: skip
        return self

    def url(self, db: str = DB_NAME) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, query: str, db: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query)
            return cursor.fetchall() if cursor.description else []

    def backends(self, db: str = DB_NAME) -> int:
        """Client connections to ``db`` now, not counting the one asking."""
        return self.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
            f"'{db}' AND pid <> pg_backend_pid()"
        )[0][0]

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.workdir, ignore_errors=True)


def site_env(
    source: Path, pg: OwnPostgres, redis_url: str, run_id: str, var_dir: Path, **extra: str
) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        "DJANGO_SETTINGS_MODULE": "lukhas_site.settings",
        "DATABASE_URL": pg.url(),
        "REDIS_URL": redis_url,
        "LUKHAS_SECRET_KEY": SECRET_KEY,
        "LUKHAS_VAR_DIR": str(var_dir),
        "LUKHAS_CACHE_PREFIX": f"lukhas-edges-{run_id}",
        "LUKHAS_GUARDIAN_REDIS_PREFIX": f"lukhas-edges-{run_id}:guardian",
        # Every request asks the database for its key: Guardian's key lookup is
        # the call that failed in the finding.
        "LUKHAS_GUARDIAN_KEY_CACHE_SECONDS": "0",
        "LUKHAS_METRICS_TOKEN": METRICS_TOKEN,
        "LUKHAS_PLUGIN_DISCOVERY": "auto",
        "LUKHAS_LOG_LEVEL": "WARNING",
        "OTEL_TRACES_EXPORTER": "none",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


def prepare(source: Path, pg: OwnPostgres, env: dict[str, str]) -> str:
    """Create and migrate the database; an API key of models:read + ops:read; its plaintext."""
    pg.sql(f"CREATE DATABASE {DB_NAME}")
    manage = [sys.executable, str(source / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--noinput"], cwd=source, env=env, check=True,
        capture_output=True, timeout=600,
    )  # fmt: skip
    plaintext = derive_plaintext(f"tests/edges/test_db_pool#{pg.port}")
    code = (
        "from guardian import services\n"
        "services.api_key_create(name='edges', scopes=['models:read', 'ops:read'], "
        "tenant='edges', requests_per_minute=1_000_000, tokens_per_minute=100_000_000, "
        f"daily_token_quota=1_000_000_000, plaintext={plaintext!r})\n"
    )
    subprocess.run(
        [*manage, "shell", "-c", code], cwd=source, env=env, check=True,
        capture_output=True, timeout=120,
    )  # fmt: skip
    return plaintext


@dataclass
class Answer:
    path: str
    status: int
    headers: httpx.Headers
    body: bytes
    error: str = ""

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Burst:
    answers: list[Answer] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def statuses(self) -> Counter:
        return Counter(a.status for a in self.answers)

    def summary(self) -> str:
        codes = ", ".join(f"{code} x {n}" for code, n in sorted(self.statuses.items()))
        return f"{len(self.answers)} requests in {self.seconds:.1f} s: {codes}"


def fire(bases: list[str], plaintext: str, n: int = BURST) -> Burst:
    """``n`` requests at once, spread over the sites and over PATHS; status 0 = no answer."""

    async def one(client: httpx.AsyncClient, i: int) -> Answer:
        path = PATHS[i % len(PATHS)]
        url = bases[i % len(bases)] + path
        try:
            response = await client.get(url, headers={"Authorization": f"Bearer {plaintext}"})
        except httpx.HTTPError as exc:
            return Answer(path, 0, httpx.Headers(), b"", f"{type(exc).__name__}: {exc}")
        return Answer(path, response.status_code, response.headers, response.content)

    async def run() -> list[Answer]:
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return await asyncio.gather(*(one(client, i) for i in range(n)))

    started = time.monotonic()
    answers = asyncio.run(run())
    return Burst(list(answers), time.monotonic() - started)


def envelope_problems(answer: Answer) -> list[str]:
    """What is wrong with a 503: its Retry-After, or its body's envelope for the path."""
    problems = []
    if not answer.headers.get("Retry-After", "").isdigit():
        problems.append(f"{answer.path}: 503 without a Retry-After")
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError, TypeError):
        return [*problems, f"{answer.path}: 503 is not JSON: {answer.body[:120]!r}"]
    wanted = (
        {"message", "type", "param", "code"}
        if answer.path.startswith("/v1/")
        else {"code", "message", "param"}
    )
    if not wanted <= set(error) or error.get("code") != "database_busy":
        problems.append(f"{answer.path}: 503 body {error}")
    if answer.path.startswith("/api/") and "type" in error:
        problems.append(f"{answer.path}: ops 503 in the OpenAI envelope")
    return problems


def metric_value(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


@dataclass
class Deployment:
    pg: OwnPostgres
    plaintext: str
    env: dict[str, str]
    source: Path
    workdir: Path
    sites: list[LiveSite] = field(default_factory=list)

    @property
    def bases(self) -> list[str]:
        return [site.base for site in self.sites]

    def start_sites(self, **extra: str) -> Deployment:
        """WEB_PROCESSES uvicorn processes on the cluster, configured by ``extra``."""
        self.stop_sites()
        env = {**self.env, **extra}
        self.sites = [
            LiveSite(
                env,
                self.workdir / f"uvicorn-{i}.log",
                source=self.source,
                # An older checkout (the "before" run) has no lukhas_site.serve.
                edge_limits=self.source == REPO,
            ).start(timeout=90.0)
            for i in range(WEB_PROCESSES)
        ]
        return self

    def stop_sites(self) -> None:
        for site in self.sites:
            site.stop()
        self.sites = []

    def stop(self) -> None:
        self.stop_sites()
        self.pg.stop()


def deploy(source: Path, workdir: Path, redis_url: str) -> Deployment:
    """Own cluster, migrated database, a key; sites are started by the test."""
    run_id = uuid.uuid4().hex[:10]
    workdir.mkdir(parents=True, exist_ok=True)
    pg = OwnPostgres(workdir / "pg").start()
    try:
        env = site_env(source, pg, redis_url, run_id, workdir / "site-var")
        plaintext = prepare(source, pg, env)
    except BaseException:
        pg.stop()
        raise
    return Deployment(pg, plaintext, env, source, workdir)


@pytest.fixture(scope="module")
def cluster():
    """One cluster and database for the module (migrating takes most of the time)."""
    redis_url = require_redis()
    var_dir = REPO / os.environ.get("LUKHAS_VAR_DIR", "var")
    workdir = var_dir / f"edges-{uuid.uuid4().hex[:8]}"
    deployment = deploy(REPO, workdir, redis_url)
    yield deployment
    deployment.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def pooled(cluster, tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    yield cluster.start_sites(
        LUKHAS_DB_POOL="true",
        LUKHAS_DB_POOL_MIN="1",
        LUKHAS_DB_POOL_MAX=str(POOL_MAX),
        LUKHAS_DB_POOL_TIMEOUT="3",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    cluster.stop_sites()


@pytest.fixture
def tiny_pool(cluster):
    yield cluster.start_sites(
        LUKHAS_DB_POOL="true",
        LUKHAS_DB_POOL_MIN="1",
        LUKHAS_DB_POOL_MAX="1",
        LUKHAS_DB_POOL_TIMEOUT="0.05",
    )
    cluster.stop_sites()


@pytest.fixture
def unpooled(cluster):
    yield cluster.start_sites(LUKHAS_DB_POOL="false")
    cluster.stop_sites()


class TestBurst:
    def test_it_answers_no_500_and_stays_within_the_pools(self, pooled):
        burst = fire(pooled.bases, pooled.plaintext)
        print(f"pool on ({WEB_PROCESSES} x max {POOL_MAX}): {burst.summary()}")
        statuses = burst.statuses
        assert statuses[500] == 0, burst.summary()
        assert statuses[0] == 0, [a.error for a in burst.answers if a.status == 0][:3]
        assert set(statuses) <= {200, 503}, burst.summary()
        assert statuses[200] > 0
        problems = [p for a in burst.answers if a.status == 503 for p in envelope_problems(a)]
        assert problems == []
        # The pools bound the server's connections, during and after the burst.
        assert pooled.pg.backends() <= WEB_PROCESSES * POOL_MAX
        scrape = httpx.get(
            f"{pooled.bases[0]}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        )
        assert scrape.status_code == 200
        # livesum over both processes of the machine (one PROMETHEUS_MULTIPROC_DIR).
        assert metric_value(scrape.text, "lukhas_db_pool_max") == WEB_PROCESSES * POOL_MAX
        size = metric_value(scrape.text, "lukhas_db_pool_size")
        assert size is not None and 1 <= size <= WEB_PROCESSES * POOL_MAX

    def test_it_sheds_with_503_when_the_pool_cannot_serve_in_time(self, tiny_pool):
        """A pool of 1 with a 50 ms wait cannot serve 300 at once: 503 + Retry-After."""
        burst = fire(tiny_pool.bases, tiny_pool.plaintext)
        print(f"pool of 1, 50 ms wait: {burst.summary()}")
        assert burst.statuses[500] == 0, burst.summary()
        assert burst.statuses[503] > 0, burst.summary()
        shed = [a for a in burst.answers if a.status == 503]
        assert {a.path for a in shed} & {"/v1/models"}, "no /v1 request was shed"
        problems = [p for a in shed for p in envelope_problems(a)]
        assert problems == []
        assert tiny_pool.pg.backends() <= WEB_PROCESSES

    def test_it_answers_503_not_500_when_the_server_is_full_without_a_pool(self, unpooled):
        """LUKHAS_DB_POOL=false: PostgreSQL refuses clients, the site sheds them."""
        burst = fire(unpooled.bases, unpooled.plaintext)
        print(f"pool off, max_connections={MAX_CONNECTIONS}: {burst.summary()}")
        assert burst.statuses[500] == 0, burst.summary()
        assert burst.statuses[503] > 0, burst.summary()
        problems = [p for a in burst.answers if a.status == 503 for p in envelope_problems(a)]
        assert problems == []


def _backends_or_refusal(pg: OwnPostgres) -> str:
    import psycopg

    try:
        return str(pg.backends())
    except psycopg.OperationalError as exc:
        return f"none to spare, a new client is refused ({str(exc).strip().splitlines()[-1]})"


def main() -> None:
    """The burst against any checkout, for before/after figures (see the module docstring)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=REPO)
    parser.add_argument("--pool", choices=["on", "off"], default="on")
    args = parser.parse_args()
    source = args.source.resolve()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/10")
    workdir = REPO / "var" / f"edges-cli-{uuid.uuid4().hex[:8]}"
    extra = {"LUKHAS_DB_POOL": "true" if args.pool == "on" else "false"}
    if args.pool == "on":
        extra |= {"LUKHAS_DB_POOL_MIN": "1", "LUKHAS_DB_POOL_MAX": str(POOL_MAX)}
        extra["LUKHAS_DB_POOL_TIMEOUT"] = "3"
    deployment = deploy(source, workdir, redis_url)
    try:
        deployment.start_sites(**extra)
        burst = fire(deployment.bases, deployment.plaintext)
        print(f"source={source} pool={args.pool}: {burst.summary()}")
        by_path = Counter(
            (a.path, a.status, a.headers.get("content-type", "").split(";")[0])
            for a in burst.answers
        )
        for (path, status, kind), n in sorted(by_path.items()):
            print(f"  {path} {status} {kind}: {n}")
        finished = time.monotonic()
        for later in (0, 10, 70):
            time.sleep(max(0.0, finished + later - time.monotonic()))
            print(f"  server connections {later} s later: {_backends_or_refusal(deployment.pg)}")
    finally:
        deployment.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

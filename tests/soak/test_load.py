"""The soak's synthetic load: Locust, headless, against a live site (docs/soak-load.md).

One live site for the module (uvicorn on the test database); each live test
runs Locust as its own process for a bounded time. The profile and CSV
parsing tests need neither.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.core.management import call_command

from guardian import services as guardian_services
from guardian.models import APIKey
from lukhas_site.errors import InvalidRequest
from matriz.models import MemoryIndexModel
from soak import services
from soak.load import runner
from soak.load.profile import KINDS, LoadProfile, ProfileError, load_profile, parse_profile
from soak.load.results import parse_stats
from tests.guardian.helpers import LiveSite
from tests.services import worker_env

REPO = Path(__file__).resolve().parents[2]
NAMES = {
    "chat": "chat",
    "chat_stream": "chat (stream)",
    "responses": "responses",
    "embeddings": "embeddings",
    "models": "models",
    "index_query": "index query",
}


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[LiveSite]:
    prefix = f"lukhas-test:{uuid.uuid4().hex[:12]}:guardian"
    with django_db_blocker.unblock():
        env = worker_env(
            LUKHAS_GUARDIAN_REDIS_PREFIX=prefix,
            LUKHAS_LOG_LEVEL="WARNING",
            OTEL_TRACES_EXPORTER="none",
        )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    live = LiveSite(env, tmp_path_factory.mktemp("load-site") / "uvicorn.log").start()
    yield live
    live.stop()
    url = env.get("LUKHAS_GUARDIAN_REDIS_URL") or env.get("REDIS_URL")
    if url:
        client = redis.Redis.from_url(url, socket_timeout=1)
        for found in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(found)


@pytest.fixture(autouse=True)
def private_var(settings, tmp_path):
    """The load key file and default out dirs under this test's own var/."""
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    settings.SOAK_LOAD_API_KEY = ""
    settings.SOAK_LOAD_ENABLED = True


@pytest.fixture(autouse=True)
def _locust_installed():
    if shutil.which("locust", path=str(Path(os.sys.executable).parent)) is None:
        if os.environ.get("CI") == "true":
            pytest.fail("locust is not installed in the venv (make install)")
        pytest.skip("locust is not installed in the venv (make install)")


def _profile(**overrides) -> LoadProfile:
    data = {"rps": 5, "users": 5, "spawn_rate": 5, "duration": 15, "request_timeout": 20,
            "mix": dict.fromkeys(KINDS, 1)}  # fmt: skip
    data.update(overrides)
    return parse_profile(data, source="test")


def _rounded(ms: float) -> float:
    """``ms`` as Locust's percentiles round it (to 1 ms below 100 ms, 10 ms below 1 s, ...)."""
    step = 1 if ms < 100 else 10 if ms < 1000 else 100
    return round(ms / step) * step


def _cmdline(pid: int) -> bytes:
    """The process's command line, once the kernel shows it (empty for a moment after exec)."""
    deadline = time.monotonic() + 5
    while not (found := Path(f"/proc/{pid}/cmdline").read_bytes()):
        assert time.monotonic() < deadline, f"no command line for pid {pid}"
        time.sleep(0.05)
    return found


# --- live ------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_bounded_mixed_load_and_records_real_percentiles(site, tmp_path):
    out = tmp_path / "run"
    started = time.monotonic()
    run = services.load_start(
        target_url=site.base, profile=_profile(), out_dir=out, run_label="rc1 soak"
    )
    assert run.run_label == "rc1-soak"
    # The secret is in a 0600 file, never on the command line.
    key_file = Path(run.key_file)
    plaintext = key_file.read_text()
    assert key_file.stat().st_mode & 0o777 == 0o600
    cmdline = _cmdline(run.pid)
    assert plaintext.encode() not in cmdline and b"--headless" in cmdline
    assert services.load_results(out)["complete"] is False  # still running

    assert services.load_wait(run, timeout=45), "Locust outlived its --run-time"
    elapsed = time.monotonic() - started
    assert 15 <= elapsed < 45
    results = services.load_results(run)
    assert results["complete"] is True and results["running"] is False
    assert results["final"] is True  # the stats Locust had as it quit, its last second included
    assert plaintext not in Path(run.log_path).read_text()

    agg = results["aggregated"]
    for name in NAMES.values():
        figures = results["requests"][name]
        assert figures["count"] >= 1, (name, results["requests"])
        assert figures["failures"] == 0, (name, results["failures"])
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"] <= _rounded(figures["max"])
    assert results["requests"]["chat (stream)"]["method"] == "POST"
    assert agg["count"] == sum(f["count"] for f in results["requests"].values())
    assert agg["failures"] == 0 and results["failures"] == []
    # 5 req/s for 15 s, plus the index set-up; paced, not flooded.
    assert 45 <= agg["count"] <= 95, agg
    assert 0 < agg["p50"] <= agg["p90"] <= agg["p95"] <= agg["p99"] <= _rounded(agg["max"])

    # Guardian saw the soak tenant's own key, and the tenant owns the index the load queried.
    key = APIKey.objects.get(tenant__slug="soak", name="soak-load")
    assert key.last_used_at is not None
    assert key.requests_per_minute >= 5 * 60
    assert MemoryIndexModel.objects.filter(owner="soak", name="soak-load").exists()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_stops_a_long_run_early_and_counts_its_failures(site, tmp_path, settings):
    # A key the site does not know: every request is a 401, counted as a failure.
    settings.SOAK_LOAD_API_KEY = "lk_soak_notakey"
    profile = _profile(duration="10m", mix={"models": 1, "embeddings": 1})
    run = services.load_start(target_url=site.base, profile=profile, out_dir=tmp_path / "long")
    deadline = time.monotonic() + 20
    while not (tmp_path / "long" / "locust_stats.csv").exists():
        assert time.monotonic() < deadline, Path(run.log_path).read_text()
        time.sleep(0.5)
    time.sleep(3)
    assert runner.is_running(run.pid)
    stopped_at = time.monotonic()
    assert services.load_stop(run=tmp_path / "long") is True  # by its out dir, as a sentinel would
    assert time.monotonic() - stopped_at < runner.TERM_GRACE_SECONDS + 5
    assert not runner.is_running(run.pid)
    assert services.load_stop(run=run.pid) is False  # already stopped

    results = services.load_results(run)
    agg = results["aggregated"]
    assert results["complete"] is True
    assert results["final"] is True  # SIGTERM: Locust quit cleanly and wrote its last figures
    assert agg["count"] >= 5 and agg["failures"] == agg["count"]
    assert {f["name"] for f in results["failures"]} <= {"models", "embeddings"}
    assert all("401" in f["error"] for f in results["failures"]), results["failures"]
    assert "index query" not in results["requests"]  # weight 0: never sent


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_prints_the_results_table_and_ends_at_max_requests(site, tmp_path, capsys):
    profile = tmp_path / "profile.yaml"
    profile.write_text("rps: 4\nusers: 2\nspawn_rate: 2\nmax_requests: 6\nmix: {models: 1}\n")
    started = time.monotonic()
    call_command(
        "soak_load", "--target", site.base, "--profile", str(profile), "--duration", "60s",
        "--out-dir", str(tmp_path / "cmd"),
    )  # fmt: skip
    assert time.monotonic() - started < 20  # ended by its count, not its 60 s
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["request", "count", "failures", "p50", "p90", "p95", "p99",
                                "max", "rps"]  # fmt: skip
    models = next(line.split() for line in lines if line.startswith("models"))
    # The 6th request quits the runner; a request already in flight may still land.
    assert 6 <= int(models[1]) <= 8 and models[2] == "0"
    assert models[3] != "unknown" and "complete" in lines[-1]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_loads_a_soak_run_and_records_its_percentiles_in_a_snapshot(
    site, tmp_path, settings, gates_file
):
    settings.SOAK_ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.SOAK_LOAD_PROFILE = str(tmp_path / "profile.yaml")
    Path(settings.SOAK_LOAD_PROFILE).write_text(
        "rps: 5\nusers: 2\nspawn_rate: 2\nmix: {chat: 1, embeddings: 1, models: 1}\n"
    )
    run = services.soak_start(release="v0.9.0-rc", target_url=site.base, planned_hours=1)
    assert run.load_pid and run.load_dir == str(settings.VAR_DIR / "soak-load" / f"run-{run.pk}")
    assert run.load_profile["duration_seconds"] == 2 * 3600  # the run's deadline, not 60 s
    assert runner.is_running(run.load_pid)
    stats = Path(run.load_dir) / "locust_stats.csv"
    deadline = time.monotonic() + 20
    while not stats.exists() or "chat" not in stats.read_text():
        assert time.monotonic() < deadline, Path(run.load_dir, "locust.log").read_text()
        time.sleep(0.5)
    time.sleep(4)

    snapshot = services.snapshot_take(run=run, scrape=False)
    load = snapshot.load_results
    assert load["running"] is True and load["complete"] is False  # a soak's load goes on
    assert load["aggregated"]["count"] >= 10 and load["aggregated"]["failures"] == 0
    assert load["aggregated"]["p95"] > 0
    assert set(load["requests"]) == {"chat", "embeddings", "models"}
    assert load["interval"]["count"] >= 0

    services.soak_abort(run=run, by=None, reason="test over")
    settings.SOAK_LOAD_ENABLED = False
    assert services.load_start(run=run) is None  # disabled: a run starts no load
    assert services.load_wait(services.LoadProcess.from_dir(run.load_dir), timeout=20)
    assert not runner.is_running(run.load_pid)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_quits_a_soak_load_whose_lease_the_sentinel_stopped_renewing(
    site, tmp_path, settings, gates_file
):
    # A stopped beat or worker (a stopped `make run`) must not leave days of load behind.
    settings.SOAK_LOAD_LEASE_SECONDS = 4.0
    settings.SOAK_LOAD_PROFILE = str(tmp_path / "profile.yaml")
    Path(settings.SOAK_LOAD_PROFILE).write_text(
        "rps: 2\nusers: 1\nspawn_rate: 1\nmix: {models: 1}\n"
    )
    run = services.soak_start(release="v0.9.1-rc", target_url=site.base, planned_hours=48)
    lease = Path(run.load_dir) / "lease"
    assert lease.exists()
    # Renewed (as each sentinel beat does): still running after twice the lease.
    for _ in range(8):
        time.sleep(1)
        assert services.load_lease_renew(run=run) is True
    assert runner.is_running(run.load_pid), Path(run.load_dir, "locust.log").read_text()
    # Not renewed: Locust quits by itself within the lease and a check interval.
    process = services.LoadProcess.from_dir(run.load_dir)
    assert services.load_wait(process, timeout=20), Path(run.load_dir, "locust.log").read_text()
    assert "lease not renewed" in Path(run.load_dir, "locust.log").read_text()
    services.soak_abort(run=run, by=None, reason="test over")


# --- the key ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_keeps_one_load_key_raises_its_limits_and_rotates_it(settings):
    first = services.soak_api_key_ensure(requests_per_minute=120)
    assert services.soak_api_key_ensure(requests_per_minute=60) == first
    key = APIKey.objects.get(tenant__slug="soak", name="soak-load", revoked=False)
    assert key.requests_per_minute == 120
    assert {"indexes:read", "responses:write", "embeddings:write"} <= set(key.scopes)
    assert (settings.VAR_DIR / "soak-load-key").stat().st_mode & 0o777 == 0o600

    assert services.soak_api_key_ensure(requests_per_minute=900) == first
    key.refresh_from_db()
    assert key.requests_per_minute == 900

    rotated = services.soak_api_key_ensure(requests_per_minute=900, rotate=True)
    assert rotated != first
    key.refresh_from_db()
    assert key.revoked
    assert APIKey.objects.filter(tenant__slug="soak", name="soak-load", revoked=False).count() == 1

    guardian_services.api_key_revoke(key=APIKey.objects.get(name="soak-load", revoked=False))
    assert services.soak_api_key_ensure() not in (first, rotated)

    settings.SOAK_LOAD_API_KEY = "lk-given"
    assert services.soak_api_key_ensure() == "lk-given"


# --- the profile -----------------------------------------------------------------------


def test_it_reads_the_shipped_profile():
    profile = load_profile(REPO / "configs/soak/load_profile.yaml")
    assert profile.rps == 5 and profile.duration_seconds == 60
    assert set(profile.mix) == set(KINDS) and all(profile.mix.values())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rps": 0}, "test: rps: must be > 0"),
        ({"rps": "fast"}, "test: rps: must be a number"),
        ({"users": 2.5}, "test: users: must be an integer"),
        ({"duration": "soon"}, "test: duration: expected seconds"),
        ({"duration": "8d"}, "test: duration: must be between 1 s and 604800 s"),
        ({"max_requests": -1}, "test: max_requests: must be >= 0"),
        ({"mix": {"chat": -1}}, "test: mix.chat: must be an integer >= 0"),
        ({"mix": {"fax": 1}}, "test: mix.fax: unknown kind"),
        ({"mix": {"chat": 0}}, "test: mix: at least one kind needs a weight > 0"),
        ({"rsp": 5}, "test: rsp: unknown key"),
        ({"version": 2}, "test: version: only version 1"),
        ({"chat_model": ""}, "test: chat_model: must be a non-empty string"),
    ],
)
def test_it_refuses_a_bad_profile_naming_the_key(data, message):
    with pytest.raises(ProfileError) as caught:
        parse_profile(data, source="test")
    assert str(caught.value).startswith(message), str(caught.value)


def test_it_names_the_line_of_bad_yaml_and_a_missing_file(tmp_path, settings):
    bad = tmp_path / "p.yaml"
    bad.write_text("rps: 5\nmix: [\n")
    with pytest.raises(ProfileError, match=r"p\.yaml: line \d+ invalid YAML"):
        load_profile(bad)
    with pytest.raises(InvalidRequest, match="cannot read the load profile"):
        services.load_profile_read(tmp_path / "missing.yaml")


def test_it_parses_durations_and_overrides():
    profile = _profile(duration="2m", mix={"chat": 3})
    assert profile.duration_seconds == 120
    assert profile.mix == {"chat": 3, **dict.fromkeys(KINDS[1:], 0)}
    changed = profile.with_overrides(rps=2.5, duration_seconds=90)
    assert (changed.rps, changed.duration_seconds, changed.mix) == (2.5, 90, profile.mix)
    with pytest.raises(ProfileError, match="rps"):
        profile.with_overrides(rps=-1)


# --- the CSV ---------------------------------------------------------------------------


def test_it_keeps_unknown_figures_null(tmp_path):
    stats = tmp_path / "x_stats.csv"
    header = ("Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
              "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
              "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%")  # fmt: skip
    stats.write_text(
        header + "\n"
        "GET,models,10,2,12,13.5,3,40,100,0.5,0.1,12,13,14,15,20,30,35,40,40,40,40\n"
        "POST,chat,0,0,0,0,0,0,0,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n"
        ",Aggregated,10,2,12,13.5,3,40,100,0.5,0.1,12,13,14,15,20,30,35,40,40,40,40\n"
    )
    parsed = parse_stats(stats)
    assert parsed["requests"]["models"] == {
        "count": 10, "failures": 2, "p50": 12.0, "p90": 20.0, "p95": 30.0, "p99": 40.0,
        "max": 40.0, "avg": 13.5, "rps": 0.5, "method": "GET",
    }  # fmt: skip
    chat = parsed["requests"]["chat"]
    assert chat["count"] == 0 and chat["p50"] is None and chat["max"] is None
    assert parsed["aggregated"]["count"] == 10
    assert services.load_results is not None
    missing = runner.results_for(tmp_path / "nothing")
    assert missing == {
        "complete": False, "final": False, "requests": {}, "aggregated": None, "failures": [],
    }  # fmt: skip

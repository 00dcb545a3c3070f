"""Every panel of every shipped dashboard shows data on a real Prometheus scraping a live site.

One stack for the module (the ``stack`` fixture): two uvicorn processes of
the site and a real Celery worker, all sharing one PROMETHEUS_MULTIPROC_DIR
(one machine: whichever process serves /metrics merges every process's
figures, so Prometheus scrapes one of them, as ops/prometheus/prometheus.yml
lists one target per machine), and Debian's Prometheus (tests/prometheus.py)
scraping every second with every rule file of ops/prometheus/rules/ loaded
and evaluated every second. A short, bounded synthetic load goes to both
processes: chat (plain, streamed, idempotent and replayed), responses,
embeddings, indexes (create, write, query, fold), dreams (run by the
worker), Guardian denials, refused keys and 429s, board moves through the
ops API, a soak run with a snapshot, and one Celery task that fails for real.

Then every PromQL expression of every panel (template variables as Grafana
substitutes them: tests/ops/dashboards.py), every recording rule (its
expression and the series it records), and every Prometheus query of the GA
gates (configs/soak/ga_gates.yaml) goes through the HTTP API; each must
return a non-empty result with at least one finite value, and a failure
names the dashboard and panel. Panels over ``slo:`` series are reported as
"waiting for rules" only while no rule file records ``slo:`` series.

What was proven is printed and written to test-artifacts/live-panels.json
(the closing note of issue 14 quotes it).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import openai
import pytest
from django.conf import settings
from django.utils import timezone

from coordination import services as coordination_services
from guardian import services as guardian_services
from soak import services as soak_services
from soak.gates import load_gates
from soak.sources.alerts import alerts_promql
from soak.sources.base import MeasureContext
from soak.sources.metrics import resolve_query
from tests.conftest import _purge_filesystem_broker
from tests.guardian.helpers import LiveSite
from tests.ops import dashboards as ops
from tests.prometheus import PrometheusServer
from tests.services import REPO, CeleryWorker, require_redis, worker_env

# django_db: the module's tests need the test database set up (pytest-django sets
# up only what collected tests ask for); each test only reads, inside its own
# rolled-back transaction, what the module fixture committed.
pytestmark = [pytest.mark.e2e, pytest.mark.django_db]

GATES_FILE = REPO / "configs" / "soak" / "ga_gates.yaml"
ALL_SCOPES = [
    "models:read", "responses:write", "embeddings:write", "indexes:read", "indexes:write",
    "dreams:write", "ops:read", "ops:write",
]  # fmt: skip


@dataclass
class Proof:
    """What the module proved, for the closing note."""

    proven: dict[str, list[str]] = field(default_factory=dict)
    waiting: list[str] = field(default_factory=list)

    def add(self, kind: str, name: str) -> None:
        self.proven.setdefault(kind, []).append(name)

    def summary(self) -> dict:
        dashboards = {q.split(" > ")[0] for q in self.proven.get("panel queries", [])}
        panels = {q.rsplit(" [", 1)[0] for q in self.proven.get("panel queries", [])}
        return {
            "dashboards": len(dashboards),
            "panels": len(panels),
            "queries": {kind: len(names) for kind, names in self.proven.items()},
            "total_queries": sum(len(names) for names in self.proven.values()),
            "waiting_for_rules": self.waiting,
            "proven": self.proven,
        }


@dataclass
class Stack:
    prometheus: PrometheusServer
    sites: list[LiveSite]
    worker: CeleryWorker
    soak_started_at: object
    proof: Proof


def _wait(what: str, check, timeout: float = 30.0, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout}s")
        time.sleep(interval)


def _scraped_after(prometheus: PrometheusServer, moment: float) -> None:
    """Until Prometheus has scraped the target after ``moment`` (time.time())."""
    _wait(
        "a scrape after the load",
        lambda: (prometheus.value('min(timestamp(up{job="lukhas"}))') or 0) > moment + 1,
    )


def _index_create(base: str, key: str) -> tuple[str, int]:
    from matriz.models import MemoryIndexModel

    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
        index = http.post("/v1/indexes", json={"name": f"panels-{uuid.uuid4().hex[:6]}"})
    assert index.status_code == 200, index.text
    public_id = index.json()["id"]
    return public_id, MemoryIndexModel.objects.get(public_id=public_id).pk


def _round(sites: list[LiveSite], keys: dict[str, str], index: tuple[str, int], n: int) -> None:
    """One round of the load, on both processes: every area once or more.

    The module runs two rounds with a scrape between them: a series first
    seen in a scrape has no increase yet, so a rate or quantile needs the
    second round's increments.
    """
    from lukhas_site.celery import app
    from matriz.models import FoldRecord

    bases = [site.base for site in sites]
    auth = {"Authorization": f"Bearer {keys['good']}"}
    sdks = [
        openai.OpenAI(base_url=f"{base}/v1", api_key=keys["good"], max_retries=0, timeout=30)
        for base in bases
    ]
    for m, sdk in enumerate(sdks * 2):
        sdk.models.list()
        sdk.chat.completions.create(
            model="matriz-echo", messages=[{"role": "user", "content": f"panel load {n}.{m}"}]
        )
        stream = sdk.chat.completions.create(
            model="matriz-echo",
            messages=[{"role": "user", "content": f"streamed panel load {n}.{m}"}],
            stream=True,
        )
        assert list(stream)
        sdk.responses.create(model="matriz-echo", input=f"a response {n}.{m}")
        sdk.embeddings.create(model="lukhas-embed-1", input=[f"embed {n}.{m}", "a memory"])
    # Idempotency: stored by one process, replayed by the other.
    idem = {"Idempotency-Key": f"panels-{uuid.uuid4().hex}"}
    for sdk in sdks:
        sdk.chat.completions.create(
            model="matriz-echo", messages=[{"role": "user", "content": "once"}], extra_headers=idem
        )
    # Indexes: write near-duplicates, query on both processes, fold in the worker.
    index_id, index_pk = index
    texts = [f"the release train leaves at nine ({n})", f"the release train leaves at nine ({n})!"]
    texts += [f"memory {n}.{m} about soak gates" for m in range(4)]
    for base in bases:
        with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
            added = http.post(
                f"/v1/indexes/{index_id}/items", json={"items": [{"text": t} for t in texts]}
            )
            assert added.status_code == 200, added.text
            hits = http.post(f"/v1/indexes/{index_id}/query", json={"query": "release train"})
            assert hits.status_code == 200, hits.text
    folds = FoldRecord.objects.filter(index_id=index_pk).count()
    app.send_task("matriz.fold_index", args=[index_pk, "manual"])
    # A task that succeeds, and one that fails for real (called without its argument).
    assert app.send_task("lukhas.echo", args=[f"round {n}"]).get(timeout=30)["value"]
    app.send_task("lukhas.echo", args=[]).get(timeout=30, propagate=False)
    # A dream, run by the worker as a job.
    with httpx.Client(base_url=bases[n % 2], headers=auth, timeout=30) as http:
        dream = http.post("/v1/dreams", json={"index": index_id, "seed": "release train"})
        assert dream.status_code == 200, dream.text
        dream_id = dream.json()["id"]
        _wait(
            "the dream to finish",
            lambda: http.get(f"/v1/dreams/{dream_id}").json()["status"] in {"succeeded", "failed"},
            timeout=40,
        )
    _wait("the fold", lambda: FoldRecord.objects.filter(index_id=index_pk).count() > folds)
    # Guardian: a key without the scope (denied), an unknown key, a key over its limit.
    for base in bases:
        refused = openai.OpenAI(
            base_url=f"{base}/v1", api_key=keys["denied"], max_retries=0, timeout=30
        )
        with pytest.raises(openai.PermissionDeniedError):
            refused.chat.completions.create(
                model="matriz-echo", messages=[{"role": "user", "content": "denied"}]
            )
        unknown = openai.OpenAI(
            base_url=f"{base}/v1", api_key="lk-unknown-key-000", max_retries=0, timeout=30
        )
        with pytest.raises(openai.AuthenticationError):
            unknown.models.list()
    tiny = openai.OpenAI(base_url=f"{bases[n % 2]}/v1", api_key=keys["tiny"], max_retries=0)
    with pytest.raises(openai.RateLimitError):
        for _ in range(5):
            tiny.models.list()
    # Board moves through the ops API (MOVES[n]), on both processes.
    for m, (key, to, reason) in enumerate(MOVES[n]):
        with httpx.Client(base_url=bases[m % 2], headers=auth, timeout=30) as http:
            moved = http.post(
                f"/api/coordination/tasks/{key}/transition", json={"to": to, "reason": reason}
            )
            assert moved.status_code == 200, moved.text


# The board moves of each round: a review queue, a blocked task, work in progress.
MOVES = [
    [("PANEL-1", "in_progress", None), ("PANEL-2", "blocked", "waiting for staging")],
    [("PANEL-1", "in_review", None), ("PANEL-3", "in_progress", None)],
]


def _board() -> None:
    codex = coordination_services.agent_create(name="Panels-Codex")
    jules = coordination_services.agent_create(name="Panels-Jules")
    coordination_services.task_create(
        by="system", key="PANEL-1", title="dashboards", owner=codex, reviewer=jules
    )
    coordination_services.task_create(by="system", key="PANEL-2", title="rules", owner=jules)
    third = coordination_services.task_create(by="system", key="PANEL-3", title="compose")
    waits = coordination_services.task_create(by="system", key="PANEL-4", title="docs")
    coordination_services.task_add_dependency(blocker=third, blocked=waits, by="system")


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, prometheus_bin, tmp_path_factory):
    from django.core.management import call_command

    workdir = tmp_path_factory.mktemp("live-panels")
    multiproc = workdir / "prometheus-multiproc"
    multiproc.mkdir()
    prefix = f"lukhas-test:{uuid.uuid4().hex[:12]}:guardian"
    started: list = []
    proof = Proof()
    clock = time.monotonic()

    def lap(what: str) -> None:
        print(f"live panels: {what} after {time.monotonic() - clock:.1f}s")

    with django_db_blocker.unblock():
        try:
            env = worker_env(
                LUKHAS_GUARDIAN_REDIS_PREFIX=prefix,
                LUKHAS_LOG_LEVEL="WARNING",
                OTEL_TRACES_EXPORTER="none",
                PROMETHEUS_MULTIPROC_DIR=str(multiproc),
            )
            if settings.REDIS_URL:
                require_redis()
                from lukhas_site.celery import app

                app.control.purge()
            else:
                _purge_filesystem_broker()
            worker = CeleryWorker(env, log_path=workdir / "worker.log")
            sites = [LiveSite(env, workdir / f"uvicorn-{n}.log") for n in range(2)]
            prometheus = PrometheusServer(
                prometheus_bin,
                workdir / "prometheus",
                targets=[sites[0].base],
                rule_files=[str(path) for path in ops.rule_files()],
            )
            # The worker first (its start is the slowest import), then the two
            # sites and Prometheus together: independent until the first scrape.
            # Generous start timeouts: the machine may be busy, the test not stuck.
            started.append(worker.start(timeout=120))
            lap("worker ready")
            started.extend([*sites, prometheus])
            with ThreadPoolExecutor(max_workers=3) as pool:
                starts = [pool.submit(site.start, 120) for site in sites]
                starts.append(pool.submit(prometheus.start, 120))
                for future in starts:
                    future.result()
            lap("sites and prometheus ready")
            tenant = guardian_services.tenant_ensure(slug=f"panels-{uuid.uuid4().hex[:6]}")
            keys = {
                "good": guardian_services.api_key_create(
                    name="panels", tenant=tenant, scopes=ALL_SCOPES, requests_per_minute=10_000
                )[0],
                "denied": guardian_services.api_key_create(
                    name="panels-denied", tenant=tenant, scopes=["models:read"]
                )[0],
                "tiny": guardian_services.api_key_create(
                    name="panels-tiny", tenant=tenant, scopes=["models:read"], requests_per_minute=2
                )[0],
            }
            _board()
            run = soak_services.soak_start(release="v0.0.0-panels-rc", target_url=sites[0].base)
            soak_started_at = run.started_at or timezone.now()
            index = _index_create(sites[0].base, keys["good"])
            for n in range(2):
                _round(sites, keys, index, n)
                _scraped_after(prometheus, time.time())
                lap(f"round {n + 1} of the load scraped")
            soak_services.snapshot_take(run=run)
            _scraped_after(prometheus, time.time())
            time.sleep(2.2)  # two more rule evaluations
            lap("soak snapshot scraped")
            yield Stack(prometheus, sites, worker, soak_started_at, proof)
        finally:
            for process in reversed(started):
                process.stop()
            summary = proof.summary()
            artifacts = Path(settings.BASE_DIR) / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            (artifacts / "live-panels.json").write_text(json.dumps(summary, indent=2) + "\n")
            print(
                f"\nlive panels: {summary['panels']} panels of {summary['dashboards']} dashboards, "
                f"{summary['total_queries']} queries proven {summary['queries']}; "
                f"waiting for rules: {len(summary['waiting_for_rules'])}"
            )
            # Committed rows of this module (no test transaction wraps a module
            # fixture): the next tests start from an empty database, as after a
            # transactional test.
            call_command("flush", interactive=False, verbosity=0)


def _shows_data(prometheus: PrometheusServer, promql: str) -> str:
    """'' when the query returns at least one finite value; else what it returned."""
    try:
        result = prometheus.query(promql)
    except Exception as exc:  # the message names the query; Prometheus' words included
        return f"refused: {exc}"
    if not result:
        return "no series"
    values = [float(row["value"][1]) for row in result]
    if not any(math.isfinite(v) for v in values):
        return f"only {values[:5]}"
    return ""


@pytest.mark.parametrize("path", ops.dashboard_files(), ids=lambda p: p.stem)
def test_it_shows_data_in_every_panel(stack, path):
    failures = []
    for query in ops.panel_queries():
        if query.dashboard != path.name:
            continue
        if query.over_slo_rules and not ops.slo_rules_exist():
            stack.proof.waiting.append(query.name)
            continue
        problem = _shows_data(stack.prometheus, query.promql)
        if problem:
            failures.append(f"{query.name}: {problem}\n    {query.promql}")
        else:
            stack.proof.add("panel queries", query.name)
    assert not failures, "panels without data:\n" + "\n".join(failures)
    if path.stem == "slo" and not ops.slo_rules_exist():
        pytest.skip(f"waiting for rules: no file under {ops.RULES} records slo: series yet")


def test_it_evaluates_every_rule_without_error(stack):
    groups = httpx.get(f"{stack.prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    loaded = {(group["file"].rsplit("/", 1)[-1], rule["name"]) for group in groups
              for rule in group["rules"]}  # fmt: skip
    expected = {(rule.file, rule.name) for rule in ops.rules()}
    assert expected <= loaded, f"not loaded: {sorted(expected - loaded)}"
    broken = [
        f"{group['file']}: {rule['name']}: {rule['health']} {rule.get('lastError', '')}"
        for group in groups
        for rule in group["rules"]
        if rule["health"] != "ok"
    ]
    assert not broken, "\n".join(broken)


RECORDED = {"expr": "recording rule expressions", "series": "recorded series"}


def test_it_records_every_recording_rule(stack):
    recording = [rule for rule in ops.rules() if rule.recording]
    if not recording:
        pytest.skip(f"no recording rule under {ops.RULES} yet")
    failures = []
    for rule in recording:
        for what, promql in (("expr", rule.expr), ("series", rule.name)):
            problem = _shows_data(stack.prometheus, promql)
            if problem:
                failures.append(f"{rule.file} > {rule.group} > {rule.name} ({what}): {problem}")
            else:
                stack.proof.add(RECORDED[what], f"{rule.file} > {rule.name}")
    assert not failures, "recording rules without data:\n" + "\n".join(failures)


def test_it_answers_every_soak_gate_query(stack):
    gates = load_gates(GATES_FILE).gates
    now = timezone.now()
    ctx = MeasureContext(
        run_id=0,
        release="v0.0.0-panels-rc",
        target_url=stack.sites[0].base,
        now=now,
        started_at=stack.soak_started_at,
        window_start=stack.soak_started_at,
        prometheus_url=stack.prometheus.url,
    )
    failures = []
    metrics_gates = [gate for gate in gates if gate.source == "metrics"]
    assert metrics_gates
    for gate in metrics_gates:
        promql = resolve_query(gate, ctx)
        problem = _shows_data(stack.prometheus, promql)
        if problem:
            failures.append(f"gate {gate.id}: {problem}\n    {promql}")
        else:
            stack.proof.add("soak gate queries", gate.id)
    # The alerts gate asks Prometheus' ALERTS: an empty answer is its "0 fired"
    # (soak/sources/alerts.py), so Prometheus must accept it, not fill it.
    seconds = int((now - ctx.window_start).total_seconds()) + 60
    for gate in (gate for gate in gates if gate.source == "alerts"):
        stack.prometheus.query(alerts_promql(gate.alert_severity, seconds))
        stack.proof.add("soak gate queries (accepted, empty = none fired)", gate.id)
    assert not failures, "soak gates without data:\n" + "\n".join(failures)

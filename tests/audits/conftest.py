"""The fixture codebase, its lanes config, and a worker for the health-audit flow tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from audits.collectors import COLLECTORS, Workspace, run_collector
from audits.config import load_lanes
from tests.jobs.conftest import FLOW_ENV, FlowWorker, _purge_broker
from tests.services import REPO, worker_env

FIXTURE_CONFIG = Path(__file__).with_name("fixture.yaml")
FIXTURE = Path(__file__).with_name("fixture_codebase")


def fixture_workspace(workdir: Path, **overrides) -> Workspace:
    config = load_lanes(FIXTURE_CONFIG)
    if overrides:
        config = config.model_copy(update=overrides)
    return Workspace(
        config=config, config_path=FIXTURE_CONFIG, checkout=(REPO / config.path).resolve(),
        workdir=workdir,
    )  # fmt: skip


@pytest.fixture(scope="package")
def fixture_results(tmp_path_factory):
    """Every collector run once over the fixture codebase (about 20 s), by name."""
    workdir = tmp_path_factory.mktemp("fixture-audit")
    workspace = fixture_workspace(workdir)
    return {name: run_collector(name, workspace) for name in COLLECTORS}


@pytest.fixture(scope="package")
def audits_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One worker on the default queue for the audit flow tests, writing to a tmp artifacts dir."""
    artifacts = tmp_path_factory.mktemp("audit-artifacts")
    with django_db_blocker.unblock():
        env = worker_env(**FLOW_ENV, LUKHAS_AUDITS_ARTIFACTS_DIR=str(artifacts))
    _purge_broker()
    log = tmp_path_factory.mktemp("audits-worker") / "worker.log"
    worker = FlowWorker(env, log_path=log, queue="celery", name=f"audits-{os.getpid()}")
    worker.start()
    worker.artifacts_dir = artifacts
    yield worker
    worker.stop()

# LUKHAS Ops. `make run` to look at it, `make test` to prove it.
# Everything installs into .venv from the committed lock (requirements/lock.txt).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed-stamp

export LUKHAS_VAR_DIR ?= var
HOST ?= 127.0.0.1
PORT ?= 8000

# The integration pass of `make test` (PostgreSQL + Redis + a Celery worker).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lukhas
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: help install run migrate demo test test-fast test-integration lint format lock bench \
        openapi-spec openapi-baseline openapi-diff evals clean health-audit slo-rules postman

help:
	@echo "make run     install, migrate, load demo data, start web + worker + beat"
	@echo "make test    install and run the whole suite (SQLite pass, then Postgres + Redis pass)"
	@echo "make bench   run the benchmarks and write docs/benchmarks.md"
	@echo "make lint    ruff check + ruff format --check + lint-imports (the import contracts)"
	@echo "make lock    re-resolve requirements/lock.txt from pyproject.toml"
	@echo "make health-audit  audit this codebase (tests, ruff, coverage, lanes, supply chain)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements/lock.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --python $(PY) --require-hashes -r requirements/lock.txt
	$(UV) pip install --python $(PY) --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

lock: | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --universal \
		--python-version 3.11 -o requirements/lock.txt

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

demo: migrate
	$(PY) manage.py ensure_demo_admin
	$(PY) manage.py load_demo_data

run: demo
	@rm -rf $(LUKHAS_VAR_DIR)/prometheus && mkdir -p $(LUKHAS_VAR_DIR)/prometheus
	@echo ""
	@echo "  LUKHAS Ops is starting at http://$(HOST):$(PORT)/"
	@$(PY) manage.py ensure_demo_admin | sed 's/^/  /'
	@echo "  Ctrl-C stops web, worker and beat."
	@echo ""
	HOST=$(HOST) PORT=$(PORT) LUKHAS_SOAK_SELF_URL=$${LUKHAS_SOAK_SELF_URL:-http://$(HOST):$(PORT)} PROMETHEUS_MULTIPROC_DIR=$(abspath $(LUKHAS_VAR_DIR))/prometheus \
		$(VENV)/bin/honcho --no-colour -f Procfile start

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# First pass: SQLite + embedded broker; second pass: the integration tests
# against PostgreSQL + Redis + a real Celery worker process.
test: install lint
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-integration

test-fast: install
	$(PY) -m pytest -m "not integration and not e2e" -q $(PYTEST_ARGS)

test-integration: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) LUKHAS_VAR_DIR=var/test-integration \
		$(PY) -m pytest -m integration $(PYTEST_ARGS)

# Redis-backed areas (Guardian's limiter) are measured a second time against
# this Redis when it answers; BENCH_REDIS_URL= skips that.
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14

bench: install
	BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m benchmarks

# The /v1 contract (docs/contract.md): the committed OpenAPI spec, the baseline
# clients were built against, and the diff that fails on breaking changes.
OPENAPI_SPEC ?= docs/openapi/lukhas-openai.json
OPENAPI_BASELINE ?= docs/openapi/lukhas-openai.baseline.json

openapi-spec: install
	LUKHAS_LOG_LEVEL=warning $(PY) manage.py openapi_spec --out $(OPENAPI_SPEC)

openapi-baseline: openapi-spec
	cp $(OPENAPI_SPEC) $(OPENAPI_BASELINE)
	@echo "$(OPENAPI_BASELINE) now matches the code; commit it (and say why in the release notes)."

openapi-diff: openapi-spec
	LUKHAS_LOG_LEVEL=warning $(PY) manage.py openapi_diff $(OPENAPI_BASELINE) $(OPENAPI_SPEC)

# The Postman collection of /v1 (docs/contract.md), regenerated from the committed
# spec by openapi-to-postmanv2 (tools/postman, pinned by its package-lock.json).
POSTMAN_COLLECTION ?= docs/postman/lukhas-openai.postman_collection.json

postman:
	cd tools/postman && npm ci --no-audit --no-fund --loglevel=error
	node tools/postman/generate.mjs $(OPENAPI_SPEC) $(POSTMAN_COLLECTION)

# The eval cases through the official openai SDK (docs/evals.md). Without
# EVALS_ARGS="--base-url URL" a throwaway server is started and stopped.
evals: install
	$(PY) -m evals $(EVALS_ARGS)

# A coordination snapshot + task_status.json, COORDINATION_DASHBOARD.md and the daily
# report (OUT=dir to write elsewhere than var/coordination).
.PHONY: coord-snapshot
coord-snapshot: install
	$(PY) manage.py coord_snapshot $(if $(OUT),--out $(OUT))

# Schemathesis against both OpenAPI documents of a throwaway live site, with
# many more examples than the bounded run inside `make test`.
.PHONY: fuzz
fuzz: install
	FUZZ_EXAMPLES=$(or $(EXAMPLES),200) FUZZ_PHASES=examples,coverage,fuzzing \
		$(PY) -m pytest -q -p no:cacheprovider tests/edges/test_fuzz_openapi.py $(PYTEST_ARGS)

# docs/architecture.md: the import graph (from the contracts' layers) and the
# three main request paths, regenerated from the code; `make test` checks drift.
.PHONY: architecture
architecture: install
	ARCHITECTURE_WRITE=1 $(PY) -m pytest -q -p no:cacheprovider tests/architecture/test_docs.py
	$(PY) scripts/architecture.py

# Lanes (docs/lanes.md): import-linter on the production lanes only, with the
# contracts generated from the codebase's lanes config (LANES=configs/audits/<name>.yaml);
# `make lanes-readme` regenerates docs/README_LANES.md from the same config.
LANES ?= configs/audits/lukhas.yaml
LANE_GUARD_INI ?= var/lane-guard-prod.ini
.PHONY: lane-guard-prod lanes-readme
lane-guard-prod: install
	@mkdir -p $(dir $(LANE_GUARD_INI))
	LUKHAS_LOG_LEVEL=warning $(PY) manage.py lanes --config $(LANES) --importlinter $(LANE_GUARD_INI)
	$(VENV)/bin/lint-imports --no-cache $(LANE_GUARD_INI)

lanes-readme: migrate
	LUKHAS_LOG_LEVEL=warning $(PY) manage.py lanes --config $(LANES) --readme

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

# The health audit of this project (docs/audits.md): a job run by a worker of
# its own on a private queue (so it works with or without `make run`), followed
# with a progress bar. HEALTH_AUDIT_ARGS="--github-summary" in CI; set
# LUKHAS_AUDITS_ARTIFACTS_DIR=. to write the reports into this checkout's docs/.
HEALTH_AUDIT_QUEUE ?= health-audit-cli
health-audit: migrate
	@$(VENV)/bin/celery -A lukhas_site worker -Q $(HEALTH_AUDIT_QUEUE) --concurrency 2 \
		--loglevel WARNING --hostname health-audit-$$$$@%h --without-gossip --without-mingle \
		> $(LUKHAS_VAR_DIR)/health-audit-worker.log 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(PY) manage.py health_audit --wait --queue $(HEALTH_AUDIT_QUEUE) $(HEALTH_AUDIT_ARGS)

# RC soak (docs/soak.md): start a soak of RELEASE (the sentinel on beat takes
# the snapshots), or take one now. TARGET=URL soaks another site.
.PHONY: rc-soak-start rc-soak-snapshot
rc-soak-start: install
	@test -n "$(RELEASE)" || { echo "usage: make rc-soak-start RELEASE=v0.9.0-rc [HOURS=48] [TARGET=URL]"; exit 2; }
	$(PY) manage.py rc_soak_start $(RELEASE) --hours $(or $(HOURS),48) $(if $(TARGET),--target $(TARGET))
rc-soak-snapshot: install
	$(PY) manage.py rc_soak_snapshot $(RELEASE)

# Promotion of a soaked release candidate to GA (soak-ui; docs/soak-ui.md).
.PHONY: promote-rc
promote-rc: install
	@test -n "$(RELEASE)" || { echo "usage: make promote-rc RELEASE=v0.9.0-rc [APPROVE='reason'] [TAG=1]"; exit 2; }
	$(PY) manage.py promote_rc $(RELEASE) --wait $(if $(APPROVE),--approve-inconclusive "$(APPROVE)") $(if $(TAG),--tag)
# Synthetic load (docs/soak-load.md): Locust, headless, its own process, the `soak`
# tenant's key; prints per-request percentiles. PROFILE=file overrides the profile.
.PHONY: soak-load
soak-load: migrate
	$(PY) manage.py soak_load $(if $(TARGET),--target $(TARGET)) $(if $(DURATION),--duration $(DURATION)) \
		$(if $(RPS),--rps $(RPS)) $(if $(PROFILE),--profile $(PROFILE))

# The SLO recording + burn-rate alert rules from configs/observability/slo_budgets.yaml
# (docs/ops/SLOs.md); commit ops/prometheus/rules/slo.yml with the budgets.
slo-rules: install
	$(PY) manage.py slo_rules

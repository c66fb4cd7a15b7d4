# The tasks stack and its harness. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     := .venv
PY       := $(VENV)/bin/python
PYTEST   := $(VENV)/bin/pytest
HARNESS  := $(VENV)/bin/harness
# uv on PATH, else as a module (pip may install it where PATH does not look).
UV       ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
# Provider: auto, local, containers or compose (suites also: saved, the stack `make up`
# left running). auto picks containers, else local for the suites; compose, containers,
# else local for `make up` / `make dev`. `make test` runs every provider this machine has.
MODE     ?= auto
# Keys the backend of `make up` / `make dev` accepts: better-auth (the real flow) or both
# (also tokens from `make mint-token`).
TRUST    ?= better-auth
# More `harness up` options, e.g. UP_ARGS="--frontend-port 0 --backend-port 0".
UP_ARGS  ?=
# pytest-xdist workers for the stack suites.
WORKERS  ?= 2
SUB      ?= user-1
LOAD_USERS   ?= 50
LOAD_SECONDS ?= 20
# Reports: every suite run writes junit-<run>.xml, a self-contained report-<run>.html and
# its failure artifacts (traces, screenshots, service logs) under <run>/ in RESULTS;
# `make report` merges them. <run> is the suite, the provider and the shard: e2e-local-2of4.
RESULTS  ?= test-results
# SHARD=i/n: run shard i of n of the contract or e2e suite, balanced by the durations in
# tests/<suite>/.test_durations (`make durations` records them; pytest-split splits).
SHARD    ?=
# Runs `make report` must find (a sharded suite by its name without -iofn).
REPORT_EXPECT ?=

export NEXT_TELEMETRY_DISABLED := 1

shard_i = $(word 1,$(subst /, ,$(SHARD)))
shard_n = $(word 2,$(subst /, ,$(SHARD)))
ifneq ($(SHARD),)
ifeq ($(shard_n),)
$(error SHARD is i/n, e.g. SHARD=1/4)
endif
endif
# $(call run_name,SUITE-MODE): the run's name, with the shard when there is one.
run_name = $(1)$(if $(SHARD),-$(shard_i)of$(shard_n))
# $(call reports,RUN): pytest options writing RUN's reports. pytest-playwright empties its
# --output folder when a session starts, so each run has its own.
reports = --junitxml=$(RESULTS)/junit-$(1).xml -o junit_suite_name=$(1) \
	--html=$(RESULTS)/report-$(1).html --self-contained-html --output=$(RESULTS)/$(1)
# On GitHub Actions the merged report's table also goes to the run's summary page.
report_summary = $(if $(GITHUB_STEP_SUMMARY),--summary "$(GITHUB_STEP_SUMMARY)")
# $(call split,SUITE): pytest-split's options for SHARD (nothing without one).
split = $(if $(SHARD),--splits $(shard_n) --group $(shard_i) --durations-path tests/$(1)/.test_durations)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

# --- install -----------------------------------------------------------------

.PHONY: install
install: $(VENV)/.installed frontend/node_modules/.installed ## Python .venv and frontend node_modules (idempotent)

$(VENV)/.installed: requirements.lock pyproject.toml backend/pyproject.toml
	@scripts/bootstrap
	$(UV) venv --quiet --allow-existing $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) requirements.lock
	$(UV) pip install --quiet --compile-bytecode --python $(PY) --no-deps -e . -e backend
	@touch $@

frontend/node_modules/.installed: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

.PHONY: lock
lock: ## Re-pin Python dependencies (URL-free hash locks)
	$(UV) pip compile pyproject.toml backend/pyproject.toml --extra test --extra dev \
		--universal --generate-hashes -o requirements.lock --quiet
	$(UV) pip compile backend/pyproject.toml --universal --generate-hashes \
		-o backend/requirements.lock --quiet

# --- quality -----------------------------------------------------------------

.PHONY: lint
lint: install ## ruff, mypy (strict), actionlint, ESLint and tsc
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy harness backend bench tests scripts
	$(VENV)/bin/actionlint
	cd frontend && npm run --silent lint && npm run --silent typecheck

.PHONY: actionlint
actionlint: $(VENV)/.installed ## Check the GitHub Actions workflows (.github/workflows)
	$(VENV)/bin/actionlint

# --- tests -------------------------------------------------------------------

.PHONY: test
test: install ## Everything: lint, unit suites, frontend build, contract + e2e in every provider
	$(PY) scripts/test_all.py

# --- frontend ------------------------------------------------------------------

# Build inputs; harness/provider_local.py skips the same paths when it checks staleness.
FRONTEND_SOURCES := $(shell find frontend \( -path frontend/node_modules -o -path frontend/.next \
	-o -path frontend/tests -o -path frontend/coverage -o -path frontend/test-results \) -prune \
	-o -type f ! -name '*.tsbuildinfo' ! -name '*.db' ! -name next-env.d.ts -print 2>/dev/null)

.PHONY: frontend-build
frontend-build: frontend/.next/standalone/server.js ## Production build of the frontend (standalone)

frontend/.next/standalone/server.js: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build

.PHONY: frontend-test
frontend-test: frontend/node_modules/.installed ## Frontend unit tests (vitest)
	cd frontend && npm test -- --reporter=default --reporter=junit \
		--outputFile.junit=$(abspath $(RESULTS))/junit-frontend-unit.xml

.PHONY: frontend-install
frontend-install: frontend/node_modules/.installed ## Frontend node_modules from the lockfile (npm ci)

.PHONY: frontend-lint
frontend-lint: frontend/node_modules/.installed ## ESLint and tsc for the frontend
	cd frontend && npm run --silent lint && npm run --silent typecheck

.PHONY: backend-test
backend-test: install ## Backend tests on SQLite and on a throw-away PostgreSQL
	$(PYTEST) backend/tests -q -n $(WORKERS) $(call reports,backend)

.PHONY: migrate
migrate: $(VENV)/.installed ## Upgrade the database at DATABASE_URL (default sqlite:///./todo.db) to head
	$(PY) -m todo_api.migrate

.PHONY: openapi
openapi: $(VENV)/.installed ## Print the backend's OpenAPI document (JSON) on stdout
	@$(PY) -m todo_api.openapi

.PHONY: run-backend
run-backend: $(VENV)/.installed ## The backend alone on 127.0.0.1:8000, WEB_CONCURRENCY workers (needs JWKS_URL, JWT_ISSUER, JWT_AUDIENCE)
	$(PY) -m todo_api.serve --host 127.0.0.1 --port 8000

.PHONY: harness-test
harness-test: install ## Harness unit tests (issuer, CLI, providers)
	$(PYTEST) tests/harness -q $(call reports,harness-unit)

.PHONY: contract
contract: install ## Contract suite against a stack (MODE=auto|containers|local|saved, SHARD=i/n)
	$(PYTEST) tests/contract -q -n $(WORKERS) --stack-mode=$(MODE) $(call split,contract) \
		$(call reports,$(call run_name,contract-$(MODE)))

.PHONY: e2e
e2e: install ## Playwright suite against a stack (MODE=auto|containers|local|saved, SHARD=i/n)
	$(PYTEST) tests/e2e -q -n $(WORKERS) --stack-mode=$(MODE) $(call split,e2e) \
		$(call reports,$(call run_name,e2e-$(MODE)))

.PHONY: report
report: $(VENV)/.installed ## Merge the runs under RESULTS into report.html and junit.xml; fails on a failed, empty or missing run
	$(PY) -m harness.report $(RESULTS) $(foreach run,$(REPORT_EXPECT),--expect $(run)) $(report_summary)

.PHONY: durations
durations: install frontend-build ## Re-record the test durations SHARD balances on (local provider)
	$(PYTEST) tests/contract -q -n $(WORKERS) --stack-mode=local -p no:cacheprovider \
		--store-durations --clean-durations --durations-path tests/contract/.test_durations \
		--output=$(RESULTS)/durations-contract
	$(PYTEST) tests/e2e -q -n $(WORKERS) --stack-mode=local -p no:cacheprovider \
		--store-durations --clean-durations --durations-path tests/e2e/.test_durations \
		--output=$(RESULTS)/durations-e2e

.PHONY: faults
faults: install ## Load and fault scenarios on their own stack (MODE=auto|containers|local)
	$(PYTEST) tests/faults -q --stack-mode=$(MODE)

.PHONY: load
load: install ## LOAD_USERS (50) users of mixed CRUD for LOAD_SECONDS (20) on the running stack
	$(PY) -m bench.load --mode saved --users $(LOAD_USERS) --seconds $(LOAD_SECONDS)

# --- stack -------------------------------------------------------------------

.PHONY: images
images: install ## Build the container images (content-tagged: unchanged ones are skipped)
	$(PY) -m harness.images

# A CI cache of the built images: the key is their content tags, so a hit is exact.
IMAGE_ARCHIVE ?= $(HOME)/.cache/tasks-images/images.tar

.PHONY: image-key
image-key: $(VENV)/.installed ## Print the images' cache key (from their content tags; builds nothing)
	@key=$$($(PY) -m harness.images --key) && echo "$$key" && \
		if [ -n "$${GITHUB_OUTPUT:-}" ]; then echo "key=$$key" >> "$$GITHUB_OUTPUT"; fi

.PHONY: images-save
images-save: $(VENV)/.installed ## Save the built stack images to IMAGE_ARCHIVE (docker save)
	$(PY) -m harness.images --save "$(IMAGE_ARCHIVE)"

.PHONY: images-load
images-load: $(VENV)/.installed ## Load IMAGE_ARCHIVE into Docker when it exists (docker load)
	$(PY) -m harness.images --load "$(IMAGE_ARCHIVE)"

.PHONY: up
up: install ## The whole stack on production builds (creates .env when missing); prints URLs
	@$(HARNESS) up --mode $(MODE) --trust $(TRUST) $(UP_ARGS)

.PHONY: dev
dev: install ## The whole stack with hot reload (next dev, uvicorn --reload); prints URLs
	@$(HARNESS) up --mode $(MODE) --trust $(TRUST) --hot-reload $(UP_ARGS)

.PHONY: down
down: ## Stop and remove the stack `make up` / `make dev` started (data included)
	@$(HARNESS) down

.PHONY: status
status: ## Show the running stack
	@$(HARNESS) status

.PHONY: mint-token
mint-token: ## Print a token for SUB (default user-1) signed by the stack's issuer
	@$(HARNESS) mint-token --sub "$(SUB)"

# --- benchmarks ----------------------------------------------------------------

.PHONY: bench
bench: install frontend-build ## Benchmarks; writes bench/RESULTS.md (BENCH_ARGS=--suites: suite times too)
	$(PY) -m bench.run_all $(BENCH_ARGS)

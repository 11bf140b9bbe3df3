# Everything goes through uv, which this Makefile installs into .tools/ on first use.
# Nothing is installed globally and no Python interpreter is downloaded.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
UV_VERSION := 0.13.9
CHECKOV_VERSION := 3.3.30

export UV_PYTHON_DOWNLOADS := never
export UV_CACHE_DIR ?= $(CURDIR)/.cache/uv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
# Bytecode is written by the first process that imports a module and read by every later one, so only what runs is
# compiled, once. Compiling all 170 packages at install took 8 s more before anything else could start, and a shell
# with PYTHONDONTWRITEBYTECODE set made every test worker and every process a test starts compile Prefect again.
export UV_COMPILE_BYTECODE := 0
unexport PYTHONDONTWRITEBYTECODE
# Tests and the demo never phone home; Prefect's temporary server gets time to start on slow machines.
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 90

UV := .tools/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced

.DEFAULT_GOAL := help
.PHONY: help install demo test lint typecheck checkov pytest unit package bench up down status clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras
	@touch $@

install: $(STAMP) ## Create .venv from the lock file

demo: $(STAMP) ## Replay recent real weeks end to end on a local AWS and Prefect's embedded server
	$(VENV)/bin/gas-alerts demo

# The checks run beside the tests (mypy and checkov compute while the tests mostly wait), at a lower priority, so
# they take the CPU the tests leave idle rather than slow the tests down; each check's output comes whole when it
# ends, while pytest's progress streams. It fails if either side failed.
test: $(STAMP) | $(UV) ## Lint, type-check, check the Terraform and run every test, side by side (what CI runs)
	@nice -n 15 $(MAKE) --no-print-directory --jobs=3 --output-sync=target lint typecheck checkov & checks=$$!; \
	trap 'kill $$checks 2>/dev/null' INT TERM; \
	status=0; $(MAKE) --no-print-directory pytest || status=$$?; \
	wait $$checks || status=$$?; \
	exit $$status

lint: $(STAMP) ## ruff (with security rules), the formatter check, and the import layers (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP) ## mypy --strict
	$(VENV)/bin/mypy

# checkov runs once per `make test`, so compiling its 96 packages' bytecode first would cost more than it saves
# (12 s of CPU against 8 s on a fresh clone).
checkov: $(UV) ## checkov on infra/, offline, in its own tool environment (it clashes with python-hcl2)
	BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true UV_COMPILE_BYTECODE=0 \
	  $(UV) tool run --from checkov==$(CHECKOV_VERSION) checkov --directory infra --framework terraform \
	  --skip-download --compact --quiet

# The tests wait on moto, Prefect and terraform more than they compute, so there are two workers more than there are
# cores (on 2 cores, 4 workers finished the suite 6% sooner than 3), each with its own moto. A file's tests stay on one worker (the flow tier's files share one, for its Prefect
# server), and the files go out in the order tests/conftest.py gives them, the slowest first.
WORKERS ?= $(shell echo $$(( $$(nproc) + 2 )))
pytest: $(STAMP) ## Every test: unit, integration (moto), flows (Prefect) and contract (Terraform), in parallel
	$(VENV)/bin/pytest -n $(WORKERS) --dist loadfile --no-loadscope-reorder

unit: $(STAMP) ## The inner loop: the unit and contract tiers, no AWS, no Prefect server, no terraform (about 35 s)
	$(VENV)/bin/pytest -n auto tests/unit tests/contract -m "not prefect and not terraform"

up: $(STAMP) ## Start Prefect (UI on 127.0.0.1:4200), moto, a worker and the stream runner; deploy prefect.yaml
	$(VENV)/bin/gas-alerts local up

down: ## Stop exactly the processes `make up` started
	@if [ -x $(VENV)/bin/gas-alerts ]; then $(VENV)/bin/gas-alerts local down; else echo "nothing was running"; fi

status: $(STAMP) ## Show what the local stack is running
	$(VENV)/bin/gas-alerts local status

package: $(STAMP) ## Build the publisher Lambda's zip for Terraform (infra/build/)
	$(VENV)/bin/python -m gas_local.package

bench: $(STAMP) ## Measure a backfill, a check, the publisher and the package on moto; replay the guard, the schedule and outages (docs/performance.md)
	$(VENV)/bin/python -m benchmarks.bench
	$(VENV)/bin/python -m benchmarks.data_quality
	$(VENV)/bin/python -m benchmarks.timing_replay
	$(VENV)/bin/python -m benchmarks.outage_replay

clean: ## Remove the virtual environments and caches (keeps the outbox)
	rm -rf $(VENV) .tools .cache .pytest_cache .mypy_cache .ruff_cache

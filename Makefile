# Rathauskasse: `make run` starts the demo, `make test` runs every test. `make help` lists all.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
HOST ?= 127.0.0.1
PORT ?= 8000

# uv uses the interpreter of .venv and never downloads a Python of its own.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
UV_SYNC := $(UV) sync --frozen --inexact --python $(PY)

.DEFAULT_GOAL := help
ASSETS := build/static/kern/kern.min.css

.PHONY: help assets install install-dev run worker test check lint format types imports migrations-check bench ledger-check clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-18s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "uv>=0.6,<1"

install: $(UV) ## Create .venv and install what the app needs, build the static assets
	$(UV_SYNC) --no-dev --group assets
	@$(MAKE) --no-print-directory assets

install-dev: $(UV) ## Create .venv and install the app with the test and lint tools
	$(UV_SYNC)
	@$(MAKE) --no-print-directory assets

# npm packages (KERN UX, axe-core) into node_modules, then KERN's CSS and cut-down fonts into
# build/static; both steps run again only when their inputs changed.
assets: ## Build the static assets (KERN UX) from the npm packages
	@[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
	@[ $(ASSETS) -nt node_modules/.package-lock.json ] && [ $(ASSETS) -nt tools/build_assets.py ] \
	  || $(PY) tools/build_assets.py

run: export SITE_URL ?= http://$(HOST):$(PORT)
run: install ## Start the demo on http://127.0.0.1:8000 (SQLite, demo data, task worker)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	@echo "Demo: http://$(HOST):$(PORT)/  (Verwaltung: http://$(HOST):$(PORT)/admin/)"
	@$(PY) manage.py db_worker --interval 1 & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runserver $(HOST):$(PORT)

worker: install ## Run the background task worker alone
	$(PY) manage.py db_worker

# One pytest worker per core (pytest-xdist); PYTEST_WORKERS=0 runs them in this process.
PYTEST_WORKERS ?= auto
test: install-dev ## Run every test (SQLite, or PostgreSQL when DATABASE_URL is set)
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS)

lint: install-dev ## Lint and check formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev ## Format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

types: install-dev ## Type-check (mypy strict)
	$(VENV)/bin/mypy

imports: install-dev ## Check the allowed import directions
	$(VENV)/bin/lint-imports

migrations-check: install-dev ## Fail when models and migrations disagree
	$(PY) manage.py makemigrations --check --dry-run

check: lint types imports migrations-check test ## Everything CI checks

ledger-check: install ## Verify every posting and the trial balance
	$(PY) manage.py ledger_check

bench: install-dev ## Run the benchmarks (set DATABASE_URL to a PostgreSQL database)
	@for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) var build node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis

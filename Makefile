# The make targets are the project's interface; see README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint format migrate migration clean-db bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: start embedded Postgres (unless DATABASE_URL is set), migrate, load demo data, start all services
run: $(STAMP)
	$(BIN)/minyi up

## test: the whole suite against real PostgreSQL (embedded, or TEST_DATABASE_URL)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff, import contracts, mypy on shared and services
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)
	$(BIN)/minyi migrate

## migration m="message": autogenerate a new Alembic revision
migration: $(STAMP)
	$(BIN)/minyi revision "$(m)"

## bench: benchmarks on free loopback ports (QUICK=1: a short run; BENCH_ARGS="--only intake form limits photos")
bench: $(STAMP)
	@need=""; \
	command -v wrk >/dev/null 2>&1 || need="$$need wrk"; \
	command -v pgbench >/dev/null 2>&1 || need="$$need postgresql-client"; \
	if [ -n "$$need" ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends $$need; \
	fi
	$(BIN)/python -m bench $(if $(filter-out 0,$(QUICK)),--quick) $(BENCH_ARGS)

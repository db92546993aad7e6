# Two commands for a fresh machine:
#   make run   - set up and run Hunch on the embedded SQLite database (http://127.0.0.1:8000)
#   make test  - set up and run the whole test suite (lint, types, tests; Postgres from TEST_DATABASE_URL)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL

.PHONY: run test lint typecheck pytest budgets audit install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

run: $(VENV)/.runtime
	$(BIN)/python -m app migrate
	$(BIN)/python -m app serve

lint: $(VENV)/.dev
	$(BIN)/ruff check app handlers models tests bench
	$(BIN)/ruff format --check app handlers models tests bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev
	$(BIN)/mypy app handlers models

pytest: $(VENV)/.dev
	$(BIN)/python -m pytest

test: lint typecheck pytest

# The hot path's cost budgets (round trips and Redis calls, counted, never timed): also part of `pytest`.
budgets: $(VENV)/.dev
	$(BIN)/python -m pytest tests/test_budgets.py -q

# The runtime pins against the vulnerability database (a clean skip when the service cannot be reached).
audit: $(VENV)/.dev
	$(BIN)/python infra/ci/audit.py

bench: $(VENV)/.dev
	$(BIN)/python bench/bench_lmsr.py
	$(BIN)/python bench/bench_endpoint.py
	$(BIN)/python bench/bench_metrics.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache hunch.sqlite3*

# The two commands of the README: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PYTEST_WORKERS ?= 2

.PHONY: install run lint test unit bench clean migration

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,local]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## Run the whole platform locally: broker, topics and every service (SQLite under ./data).
run: install
	$(BIN)/python -m trainingops.run

## Lint (ruff), format check (ruff format) and types (mypy: strict on shared/ and services/*/domain/).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Lint first, then unit, integration (real broker + PostgreSQL) and bad-input tests.
test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile tests

## Domain rules only: no database, no broker.
unit: install
	$(BIN)/python -m pytest tests/unit

## Benchmarks print their figures; they are not tests.
bench: install
	$(BIN)/python -m tests.benchmarks.run_all

## New Alembic revision for a service: make migration SERVICE=enrollment MSG="why"
migration: install
	$(BIN)/python -m shared.migrations $(SERVICE) revision "$(MSG)"

clean:
	rm -rf $(VENV) data .pytest_cache

# Set-up is part of every target: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean worker

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

# Reinstall whenever pyproject.toml changes (new dependency, entry point, package).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

## run: open the console on the embedded store, with the simulated demo fleet
run: $(VENV)/.installed
	$(BIN)/countersign gui --demo

## worker: run expiry, delivery and the configured sources headless
worker: $(VENV)/.installed
	$(BIN)/countersign worker

## lint: ruff everywhere, mypy strict on the Qt-free core
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app ui plugins tests
	$(BIN)/mypy app

## test: lint, then the whole suite offscreen
test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

## bench: the performance figures quoted in the issues' notes
bench: $(VENV)/.installed-dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache

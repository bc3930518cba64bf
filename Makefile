# Set-up is part of every target: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean worker shell

# Qt's system libraries (X11/xcb, OpenGL, fontconfig…) are checked before Qt starts.
# As root with apt-get, what is missing is installed; `make run INSTALL_SYSTEM_LIBS=no`
# only checks and prints the one apt-get command.
INSTALL_SYSTEM_LIBS ?= yes
QT_SYSTEM_LIBS = $(BIN)/python packaging/qt_system_libs.py $(if $(filter yes,$(INSTALL_SYSTEM_LIBS)),--install)

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
	$(QT_SYSTEM_LIBS)
	$(BIN)/countersign gui --demo

## shell: a shell with the venv active, where `countersign` is on PATH (exit to leave)
shell: $(VENV)/.installed
	@echo "countersign is on PATH in this shell ($(abspath $(BIN))); exit to leave" >&2
	@VIRTUAL_ENV="$(abspath $(VENV))" PATH="$(abspath $(BIN)):$$PATH" "$${SHELL:-/bin/sh}"

## worker: run expiry, delivery and the configured sources headless
worker: $(VENV)/.installed
	$(BIN)/countersign worker

# mypy finds the renamed packages (countersign = app/, …) through this link farm:
# setuptools' editable finder is invisible to it.
TYPECHECK := build/typecheck

## lint: ruff everywhere, mypy strict on the core, the UI, the plugins and the set-up scripts,
## and the layers of ARCHITECTURE.md (import-linter contracts in pyproject.toml)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app ui plugins tests packaging
	$(BIN)/mypy app packaging
	@mkdir -p $(TYPECHECK)
	@ln -sfn ../../app $(TYPECHECK)/countersign
	@ln -sfn ../../ui $(TYPECHECK)/countersign_ui
	@ln -sfn ../../plugins $(TYPECHECK)/countersign_plugins
	MYPYPATH=$(TYPECHECK) $(BIN)/mypy -p countersign_plugins -p countersign_ui
	$(BIN)/lint-imports

## test: lint, then the whole suite offscreen (needs QtGui's libraries, not the xcb plugin's)
test: lint
	$(QT_SYSTEM_LIBS) --platform offscreen
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

## bench: the performance figures quoted in the issues' notes
bench: $(VENV)/.installed-dev
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache

# The project's two entry points (README): `make conformance` and `make test`.
# Both set up what they need in ./.venv (and the fal peer venv for tests) on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup conformance lint test peers

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

## The main job: run the conformance suite against the embedded reference server.
conformance: setup
	$(BIN)/pytest conformance

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy reference conformance loadtests interop bench
	# Each test folder is its own import root (sibling helper modules, one conftest each).
	for d in tests/*/; do $(BIN)/mypy "$$d" || exit 1; done

## The real fal packages (pinned) in their own venv, and the pinned @fal-ai/client (npm ci
## in interop/js), for the interop tests.
peers: setup
	$(BIN)/python -m interop.fal_env --ensure
	$(BIN)/python -m interop.js_client --ensure

## The project's tests: lint, types, unit/interop/self-tests, then the product suite.
test: setup peers lint
	$(BIN)/pytest
	$(BIN)/pytest conformance

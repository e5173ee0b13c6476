# The two commands: `make run` (serve the app locally) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export QDK_PYTHON_TELEMETRY := none

.PHONY: run test check unit bench setup browser clean

$(VENV)/.runtime: requirements.txt requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -c requirements.lock
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -c requirements.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.dev node_modules/.installed

## Serve http://127.0.0.1:$${PORT:-7071}/api/ on embedded defaults (Azurite, SQLite, embedded queue).
run: $(VENV)/.runtime node_modules/.installed
	$(PY) -m shared.localhost

## Lint, format check, strict types, layer contracts.
check: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

## Debian's Chromium and ChromeDriver, for the browser tests of the job management page (tests/browser).
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		( $(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq && \
		  DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) \
		  apt-get install -y -qq --no-install-recommends chromium chromium-driver )

## Everything: checks, unit tests, integration and end-to-end tests against real local servers.
test: setup check browser
	$(PY) -m pytest -q

unit: $(VENV)/.dev
	$(PY) -m pytest -q tests/unit

## Pipeline benchmark (not a test): jobs/s, PUT and end-to-end latency, store operations per job.
bench: setup
	$(PY) bench/pipeline.py

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache

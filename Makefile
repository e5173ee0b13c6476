# The two commands: `make run` (serve the app locally) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export QDK_PYTHON_TELEMETRY := none

.PHONY: run test check unit bench setup browser infra audit clean

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

CHECKOV_VENV := .venv-checkov

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check --only-binary=:all: -r requirements-checkov.txt
	touch $@

## Bicep misconfiguration scan (checkov; waivers with reasons in infra/.checkov.yaml). checkov exits 0 on a
## file it cannot parse, so that fails here; tests/infra is the syntax gate and checks infra/ against the code.
infra: $(CHECKOV_VENV)/.installed
	@out=$$($(CHECKOV_VENV)/bin/checkov -d infra --framework bicep --compact --skip-download --quiet \
		--config-file infra/.checkov.yaml 2>&1); rc=$$?; echo "$$out"; \
	if grep -q 'Parsing errors' <<<"$$out"; then echo "checkov could not parse a Bicep file: its checks did not run" >&2; exit 1; fi; \
	exit $$rc

AUDIT_VENV := .venv-audit
AUDIT := $(AUDIT_VENV)/bin/python scripts/audit.py --pip-audit $(AUDIT_VENV)/bin/pip-audit
## This project's machines (the developers' and CI's) reach the package registries only, and no vulnerability
## service answers through them: scripts/audit.py then prints 'AUDIT NOT PERFORMED: <reason>' and exits 3, which
## `make test` reports as a warning while AUDIT_NETWORK_RESTRICTED=1. On a machine that reaches a vulnerability
## service, run `make test AUDIT_NETWORK_RESTRICTED=0` so that an audit that could not be performed fails.
AUDIT_NETWORK_RESTRICTED ?= 1

$(AUDIT_VENV)/.installed: requirements-audit.txt
	test -x $(AUDIT_VENV)/bin/python || $(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install -q --disable-pip-version-check --only-binary=:all: -r requirements-audit.txt
	touch $@

## Known vulnerabilities in requirements.lock (pip-audit) and in the npm packages `make run` needs (npm audit
## --omit=dev on package-lock.json), against the written waivers in audit-waivers.toml. Exits 1 on an unwaived
## vulnerability or an expired waiver, 3 when the audit could not be performed (never a clean bill).
audit: $(AUDIT_VENV)/.installed
	$(AUDIT)

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

## Everything: checks, the dependency audit (a warning while it cannot be performed here), unit tests,
## integration and end-to-end tests against real local servers.
test: setup check browser infra $(AUDIT_VENV)/.installed
	@$(AUDIT); rc=$$?; \
	if [ $$rc -eq 3 ] && [ "$(AUDIT_NETWORK_RESTRICTED)" = 1 ]; then \
		echo "WARNING: dependency audit NOT PERFORMED (AUDIT_NETWORK_RESTRICTED=1: no vulnerability service here); going on" >&2; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi
	$(PY) -m pytest -q

unit: $(VENV)/.dev
	$(PY) -m pytest -q tests/unit tests/functions

## Pipeline benchmark (not a test): jobs/s, PUT and end-to-end latency, store operations per job.
bench: setup
	$(PY) bench/pipeline.py

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache .venv-checkov .venv-audit

# The two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pdf.js (the npm package pdfjs-dist, pinned in its package-lock.json) for the PDF-return tests.
PDFJS := tests/readers/pdfjs
PDFJS_STAMP := $(PDFJS)/node_modules/.installed
# The gettext catalogues (fr, en): .po committed, .mo compiled by the install (not committed).
CATALOGUES := $(wildcard forms_service/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
# The markers pybabel looks for beyond its defaults (_, gettext, ngettext, pgettext, N_…):
# Flask-Babel's lazy ones and forms_service.core.i18n.NP_;
# tests/unit/test_catalogues.py extracts with the same.
EXTRACT_KEYWORDS := -k lazy_gettext -k lazy_pgettext:1c,2 -k lazy_ngettext:1,2 -k NP_:1c,2
POT := var/messages.pot
HOST ?= 127.0.0.1
PORT ?= 5000
export FORMS_BASE_URL ?= http://$(HOST):$(PORT)
export OMP_THREAD_LIMIT ?= 1
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: run test install install-test system-packages test-system-packages lint typecheck unit clean prod-local messages settings-table

# SMS of `make run`: to a local Kannel with its test SMSC when Kannel is installed, else files.
# Once the worker and the local servers are started, `demo send` queues the demo campaign's
# e-mails and SMS (the worker sends them: read them at /backoffice/dev/mail and var/sms/).
run: export FORMS_SMS_PROVIDER ?= $(if $(wildcard /usr/lib/kannel/test/fakesmsc),kannel,file)
run: install
	$(BIN)/forms-service db upgrade
	$(BIN)/forms-service definitions check
	$(BIN)/forms-service demo init
	@echo "Starting a job worker (scanned pages, messages; queue under var/jobs), the local mail server (var/mail)," \
	  "$(if $(filter kannel,$(FORMS_SMS_PROVIDER)),a local Kannel (var/sms/fakesmsc.log),SMS as files (var/sms))" \
	  "and the service on $(FORMS_BASE_URL) (Ctrl+C to stop)"
	$(BIN)/forms-service worker --loglevel WARNING & worker=$$!; \
	$(BIN)/forms-service mail-server & mail=$$!; \
	$(if $(filter kannel,$(FORMS_SMS_PROVIDER)),$(BIN)/forms-service sms-gateway & sms=$$!;,sms=;) \
	trap 'kill $$worker $$mail $$sms 2>/dev/null; wait $$worker $$mail $$sms' EXIT; \
	$(BIN)/forms-service demo send; \
	$(BIN)/forms-service run --host $(HOST) --port $(PORT)

# Production mode without Docker (the processes of docker/compose.yaml) on the local
# PostgreSQL and Redis; settings in scripts/prod-local.sh. Ctrl+C stops everything.
prod-local: install-test
	bash scripts/prod-local.sh

# Two pytest workers (pytest-xdist), a test file each at a time: most slow tests wait on
# processes of their own (Celery workers, Kannel, Chromium, a production stack), not the CPU.
# PYTEST_WORKERS=0 runs them in this one process.
PYTEST_WORKERS ?= 2
test: install-test lint typecheck
	bash scripts/ensure-test-services.sh > var/test-services.env
	set -a && . var/test-services.env && set +a && $(BIN)/python -m pytest --durations=25 \
	  $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

# The fast tests (about 30 s): tests/unit and the connector contract without PostgreSQL. They
# need the service's install and the PDF tools (pdftk, qpdf) of the tests' system packages.
unit: install test-system-packages
	$(BIN)/python -m pytest tests/unit tests/contract -m "not postgres" -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=$(CURDIR) $(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

# The README's configuration tables, rendered from the settings (forms_service/config.py).
settings-table: install
	$(BIN)/python scripts/settings_table.py --write README.md

# What the service needs (make run); install-test adds what the tests, the benchmarks and
# make prod-local need (Chromium, PostgreSQL, Redis, LibreOffice, Node and pdf.js, ...).
install: system-packages $(STAMP) $(COMPILED)

install-test: install test-system-packages $(PDFJS_STAMP)

system-packages:
	@bash scripts/install-system-packages.sh
	@mkdir -p var

test-system-packages:
	@bash scripts/install-system-packages.sh --tests

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Compile a catalogue when its .po changed (or the venv was rebuilt).
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

# Extract every text of the code and the templates, then add the new ones to both catalogues
# (translate them: the tests fail while one is empty or fuzzy).
messages: $(STAMP)
	@mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg $(EXTRACT_KEYWORDS) --no-location --sort-output \
		--width 100 --project forms_service -o $(POT) .
	$(BIN)/pybabel update -i $(POT) -d forms_service/translations --width 100 \
		--ignore-obsolete --ignore-pot-creation-date

$(PDFJS_STAMP): $(PDFJS)/package.json $(PDFJS)/package-lock.json
	cd $(PDFJS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache $(PDFJS)/node_modules

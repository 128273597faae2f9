# Two commands for a fresh machine: `make run` (the example project) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Python 3.12 (Django 6 needs it); through pyenv when that is how it is installed.
PYTHON ?= python3.12
export PYENV_VERSION ?= $(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$$)' | tail -n1)
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
SQLITE_URL ?= sqlite:///$(CURDIR)/db.sqlite3
PORT ?= 8000

.PHONY: run test test-postgresql test-sqlite test-packaging bench bench-quick lint messages clean

# The package with its Redis and PostgreSQL drivers, and the tools, at the versions CI tests.
$(VENV)/.installed: setup.py pyproject.toml requirements/constraints.txt requirements/test.txt requirements/dev.txt
	@command -v $(PYTHON) >/dev/null && $(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12)' \
	  || { echo "ERROR: Python 3.12 is needed ($(PYTHON) not found or another version); set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/constraints.txt -r requirements/dev.txt -e ".[redis,postgres]"
	touch $@

run: $(VENV)/.installed
	DATABASE_URL=$${DATABASE_URL:-$(SQLITE_URL)} $(PY) manage.py migrate --no-input -v0
	DATABASE_URL=$${DATABASE_URL:-$(SQLITE_URL)} $(PY) manage.py demo_setup --port $(PORT)
	@echo "  Flower (optional, another shell): .venv/bin/celery -A proj flower --port=5555"
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH DATABASE_URL=$${DATABASE_URL:-$(SQLITE_URL)} PORT=$(PORT) honcho start -f Procfile

test: $(VENV)/.installed lint
	scripts/ensure-services
	$(MAKE) --no-print-directory test-postgresql
	$(MAKE) --no-print-directory test-sqlite

# The whole suite on PostgreSQL (with Redis and real Celery processes).
test-postgresql:
	DATABASE_URL=$(PG_URL) $(PY) -m pytest -m "not sqlite" $(PYTEST_ARGS)

# The core (no Celery engine) on SQLite, the zero-install default.
test-sqlite:
	DATABASE_URL=sqlite:///$(CURDIR)/test-core.sqlite3 $(PY) -m pytest -m "not postgresql and not engine and not packaging" $(PYTEST_ARGS)

# The sdist and the wheel, installed in a new venv (part of test-postgresql; alone here).
test-packaging: $(VENV)/.installed
	$(PY) -m pytest tests/acceptance/test_packaging.py $(PYTEST_ARGS)

# The benchmark beside raw Celery (not part of make test): `make bench`, or `make bench-quick`.
bench: $(VENV)/.installed
	$(PY) -m pip install -q -c requirements/constraints.txt -r requirements/bench.txt
	scripts/ensure-services
	$(PY) bench/run.py $(BENCH_ARGS)

bench-quick:
	$(MAKE) --no-print-directory bench BENCH_ARGS=--quick

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check future_celery proj tests bench
	$(VENV)/bin/ruff format --check future_celery proj tests bench
	$(VENV)/bin/mypy future_celery

messages: $(VENV)/.installed
	cd future_celery && ../$(PY) ../manage.py compilemessages

clean:
	rm -rf $(VENV) *.egg-info build dist db.sqlite3* test-core.sqlite3*

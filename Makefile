# Two commands for a fresh machine: `make run` (the example project) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Python 3.12 (Django 6 needs it); through pyenv when that is how it is installed.
PYTHON ?= python3.12
export PYENV_VERSION ?= $(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.|$$)' | tail -n1)
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres
# The test passes beside the main one use databases of their own on the same servers.
PG_URL_DJANGO52 ?= postgres://postgres@127.0.0.1:5432/test
MYSQL_URL ?= mysql://root@127.0.0.1:3306/test
SQLITE_URL ?= sqlite:///$(CURDIR)/db.sqlite3
PORT ?= 8000
# The passes beside the main one, each on the wheel installed in a venv of its own: Django 6.1
# on Python 3.13; Django 6.0 with django-celery-beat; Django 5.2 LTS on Python 3.12 (with
# django-celery-beat) and on Python 3.11 (through pyenv when installed so).
VENV_PY313 := .venv-py313
VENV_DJANGO60 := .venv-django60
VENV_DJANGO52 := .venv-django52
VENV_PY311 := .venv-py311
PYTHON313 ?= python3.13
PY313_PYENV := $(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.|$$)' | tail -n1)
PYTHON311 ?= python3.11
PY311_PYENV := $(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.11(\.|$$)' | tail -n1)

.PHONY: run test test-postgresql test-service-restarts test-beside test-sqlite test-mysql test-django52 test-py311 test-packaging bench bench-quick lint messages screenshots clean

# The package with its Redis and PostgreSQL drivers, and the tools, at the versions CI tests.
# (Installing the tree, here and in the venvs below, writes nothing into it: setup.py sends
# setuptools' build/ and *.egg-info to a temporary folder; tests/acceptance/test_packaging.py.)
$(VENV)/.installed: setup.py pyproject.toml requirements/constraints.txt requirements/test.txt requirements/dev.txt
	@command -v $(PYTHON) >/dev/null && $(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12)' \
	  || { echo "ERROR: Python 3.12 is needed ($(PYTHON) not found or another version); set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements/constraints.txt -r requirements/dev.txt -e ".[redis,postgres]"
	touch $@

# The broker: CELERY_BROKER_URL if set, else the local Redis (started if installed but down),
# else kombu's filesystem transport in .broker/; scripts/choose-broker says which.
run: $(VENV)/.installed
	@broker=$$($(PY) scripts/choose-broker) || exit 1; \
	export CELERY_BROKER_URL="$$broker" DATABASE_URL="$${DATABASE_URL:-$(SQLITE_URL)}"; \
	$(PY) manage.py migrate --no-input -v0 \
	&& $(PY) manage.py demo_setup --port $(PORT) \
	&& echo "  Flower (optional, another shell): .venv/bin/celery -A proj flower --address=127.0.0.1 --port=5555 --basic-auth=\"admin:\$$(cat .admin-password)\"" \
	&& PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PORT=$(PORT) exec honcho start -f Procfile

# Django 6.1 on Python 3.13 at make test's pins, with the wheel of this tree (pip builds it).
$(VENV_PY313)/.installed: setup.py pyproject.toml requirements/constraints.txt requirements/test.txt
	@PYENV_VERSION=$(PY313_PYENV) $(PYTHON313) -c 'import sys; assert sys.version_info[:2] == (3, 13)' \
	  || { echo "ERROR: Python 3.13 is needed for the Django 6.1 pass on 3.13 ($(PYTHON313) not found); set PYTHON313=/path/to/python3.13"; exit 1; }
	rm -rf $(VENV_PY313)
	PYENV_VERSION=$(PY313_PYENV) $(PYTHON313) -m venv $(VENV_PY313)
	$(VENV_PY313)/bin/python -m pip install -q --upgrade pip
	$(VENV_PY313)/bin/python -m pip install -q -c requirements/constraints.txt \
	  -r requirements/test.txt ".[redis,postgres]"
	touch $@

# Django 6.0 with django-celery-beat and MySQL's driver, with the wheel of this tree.
$(VENV_DJANGO60)/.installed: setup.py pyproject.toml requirements/constraints-django60.txt requirements/test.txt
	scripts/ensure-mysql-client
	rm -rf $(VENV_DJANGO60)
	$(PYTHON) -m venv $(VENV_DJANGO60)
	$(VENV_DJANGO60)/bin/python -m pip install -q --upgrade pip
	$(VENV_DJANGO60)/bin/python -m pip install -q -c requirements/constraints-django60.txt \
	  -r requirements/test.txt ".[redis,postgres,mysql,celery-beat]"
	touch $@

# Django 5.2 with the wheel of this tree (pip builds it) and the test tools.
$(VENV_DJANGO52)/.installed: setup.py pyproject.toml requirements/constraints-django52.txt requirements/test.txt
	rm -rf $(VENV_DJANGO52)
	$(PYTHON) -m venv $(VENV_DJANGO52)
	$(VENV_DJANGO52)/bin/python -m pip install -q --upgrade pip
	$(VENV_DJANGO52)/bin/python -m pip install -q -c requirements/constraints-django52.txt \
	  -r requirements/test.txt ".[redis,postgres,tasks,celery-beat]"
	touch $@

$(VENV_PY311)/.installed: setup.py pyproject.toml requirements/constraints-django52.txt requirements/test.txt
	@PYENV_VERSION=$(PY311_PYENV) $(PYTHON311) -c 'import sys; assert sys.version_info[:2] == (3, 11)' \
	  || { echo "ERROR: Python 3.11 is needed for the Django 5.2 pass on 3.11 ($(PYTHON311) not found); set PYTHON311=/path/to/python3.11"; exit 1; }
	rm -rf $(VENV_PY311)
	PYENV_VERSION=$(PY311_PYENV) $(PYTHON311) -m venv $(VENV_PY311)
	$(VENV_PY311)/bin/python -m pip install -q --upgrade pip
	$(VENV_PY311)/bin/python -m pip install -q -c requirements/constraints-django52.txt \
	  -r requirements/test.txt ".[redis,postgres,tasks]"
	touch $@

# The main pass (PostgreSQL, Redis and RabbitMQ, Django 6.1, beat on Celery's own scheduler)
# and, beside it, the passes on the other databases, Pythons and Django series, which use Redis
# and databases of their own; then the two fault scenarios that stop the machine's PostgreSQL
# and RabbitMQ, alone.
test: $(VENV)/.installed $(VENV_PY313)/.installed $(VENV_DJANGO60)/.installed \
  $(VENV_DJANGO52)/.installed $(VENV_PY311)/.installed lint
	scripts/ensure-services
	scripts/ensure-browser
	$(MAKE) --no-print-directory -j2 --output-sync=target test-postgresql test-beside
	$(MAKE) --no-print-directory test-service-restarts

# The whole suite on PostgreSQL (with Redis and RabbitMQ and real Celery processes), but for
# the two scenarios that stop the machine's services (test-service-restarts). Without
# django-celery-beat: beat runs the tick on Celery's own scheduler.
test-postgresql:
	DATABASE_URL=$(PG_URL) $(PY) -m pytest -m "not sqlite and not mysql and not celery_beat and not packaging" \
	  -k "not the_machines" $(PYTEST_ARGS)

test-service-restarts:
	DATABASE_URL=$(PG_URL) $(PY) -m pytest -m "not sqlite and not mysql and not celery_beat" \
	  -k "the_machines" $(PYTEST_ARGS)

test-beside:
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-mysql
	$(MAKE) --no-print-directory test-django52
	$(MAKE) --no-print-directory test-py311
	$(MAKE) --no-print-directory test-packaging

# The core (no Celery engine) on SQLite, the zero-install default: Django 6.1 on Python 3.13,
# on the wheel (scripts/test-installed), as the other passes beside the main one.
test-sqlite: $(VENV_PY313)/.installed
	DATABASE_URL=sqlite:///$(CURDIR)/test-core.sqlite3 TEST_CELERY_BROKER_URL=redis://127.0.0.1:6379/14 \
	  scripts/test-installed $(VENV_PY313) \
	  -m "not postgresql and not mysql and not engine and not packaging and not celery_beat" $(PYTEST_ARGS)

# MariaDB/MySQL on Django 6.0 with django-celery-beat (the tick its periodic task): the core,
# the engine's tests and every fault scenario but those about PostgreSQL itself, on Redis
# (RabbitMQ's runs are the PostgreSQL pass's). make run's broker choice and Flower do not
# touch the database: the PostgreSQL pass has them.
test-mysql: $(VENV_DJANGO60)/.installed
	DATABASE_URL=$(MYSQL_URL) TEST_CELERY_BROKER_URL=redis://127.0.0.1:6379/14 \
	  scripts/test-installed $(VENV_DJANGO60) \
	  -m "not postgresql and not sqlite and not packaging and not browser" \
	  -k "not rabbitmq and not the_machines" --ignore tests/acceptance/test_make_run.py \
	  --ignore tests/acceptance/test_flower.py $(PYTEST_ARGS)

# The README's examples import django.tasks (Django 6.0); on 5.2 it is django_tasks.
README_DJANGO6 := --deselect tests/integration/test_readme.py::test_the_readme_examples_run
# Django 5.2 LTS on Python 3.12: the core and the engine's tests on PostgreSQL, on Redis.
# Both 5.2 passes test the wheel installed in their venv, too.
test-django52: $(VENV_DJANGO52)/.installed
	DATABASE_URL=$(PG_URL_DJANGO52) TEST_CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \
	  scripts/test-installed $(VENV_DJANGO52) -m "not sqlite and not mysql and not packaging" \
	  -k "not rabbitmq" tests/unit tests/integration $(README_DJANGO6) $(PYTEST_ARGS)

# Django 5.2 LTS on Python 3.11: the core on SQLite.
test-py311: $(VENV_PY311)/.installed
	DATABASE_URL=sqlite:///$(CURDIR)/test-py311.sqlite3 TEST_CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \
	  scripts/test-installed $(VENV_PY311) \
	  -m "not postgresql and not mysql and not engine and not packaging and not celery_beat" \
	  tests/unit tests/integration $(README_DJANGO6) $(PYTEST_ARGS)

# The sdist and the wheel, installed in new venvs (SQLite sites, the memory broker): the last
# of the passes beside the main one, which is the longer.
test-packaging: $(VENV)/.installed
	DATABASE_URL=sqlite:///$(CURDIR)/test-packaging.sqlite3 \
	  SQLITE_TEST_NAME=$(CURDIR)/test-packaging-test.sqlite3 \
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

# The admin as a person sees it, in docs/screenshots/*.png: the browser test alone (headless
# Chromium, 1400x900), on PostgreSQL with Redis, saving a PNG at each step.
screenshots: $(VENV)/.installed
	scripts/ensure-services
	scripts/ensure-browser
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots DATABASE_URL=$(PG_URL) \
	  $(PY) -m pytest tests/acceptance/test_admin_in_a_browser.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(VENV_PY313) $(VENV_DJANGO60) $(VENV_DJANGO52) $(VENV_PY311) *.egg-info build dist db.sqlite3* test-*.sqlite3*

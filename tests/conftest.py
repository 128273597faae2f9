import os
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests import processes

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """A DATABASE_URL for the test database, for processes the tests start."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def base_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        DATABASE_URL=database_url(),
        DJANGO_SETTINGS_MODULE="tests.settings",
        TEST_CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def process_env(transactional_db):
    """The environment for a manage.py or celery process that uses the test database."""
    return base_env()


@pytest.fixture
def manage_py():
    return [sys.executable, str(ROOT / "manage.py")]


@pytest.fixture(scope="session", autouse=True)
def no_stray_processes():
    """No worker or beat outlives the session, even one whose test failed before its stop."""
    yield
    processes.stop_all()


@pytest.fixture(scope="session")
def broker():
    """The tests' Redis database, emptied. Fails (never skips) when Redis is not there."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis at {settings.CELERY_BROKER_URL} is not reachable: {exc}. "
                    "Start it (make test starts it when installed).")
    client.flushdb()
    return client


@pytest.fixture(scope="module")
def module_worker(django_db_setup, broker):
    """One real `celery worker` of proj for the tests of a module, on an empty broker (no
    message left over from another module's failure)."""
    broker.flushdb()
    worker = processes.start_worker(base_env())
    yield worker
    worker.stop()


@pytest.fixture
def worker(module_worker, transactional_db):
    """The module's worker, for a test whose data the worker must see (committed)."""
    if module_worker.popen.poll() is not None:
        pytest.fail(f"the worker died:\n{module_worker.output[-3000:]}")
    return module_worker

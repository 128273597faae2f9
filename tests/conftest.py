import os
import sys
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests import brokers, processes
from tests.processes import ROOT


def database_url() -> str:
    """A DATABASE_URL for the test database, for processes the tests start."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    auth = f"{user}{password}@" if user else ""
    scheme, port = ("mysql", 3306) if connection.vendor == "mysql" else ("postgres", 5432)
    return f"{scheme}://{auth}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or port}/{db['NAME']}"


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


def pytest_terminal_summary(terminalreporter):
    """Say once where the fault scenarios' rows went, if a scenario wrote one."""
    faults = sys.modules.get("tests.faults")
    if faults is not None and faults.written:
        terminalreporter.write_line(f"fault scenarios' report: {faults.REPORT}")


BROKER_KINDS = ("redis", "rabbitmq")
# The tests' Redis database: the one the test settings name (TEST_CELERY_BROKER_URL), read
# before a broker fixture changes the setting.
REDIS_URL = (
    settings.CELERY_BROKER_URL
    if brokers.transport_for(settings.CELERY_BROKER_URL)
    else "redis://127.0.0.1:6379/15"
)


def _connect(kind: str) -> brokers.Broker:
    try:
        return brokers.connect(kind, REDIS_URL)
    except ConnectionError as exc:
        pytest.fail(str(exc))  # never a skip: a missing broker is a failure


@pytest.fixture(scope="module", params=BROKER_KINDS)
def broker(request):
    """Each of the tests' brokers in turn (Redis, RabbitMQ), emptied. While it is active the
    test process publishes to it and base_env() hands it to the processes the tests start.
    Fails (never skips) when the broker is not there."""
    broker = _connect(request.param)
    broker.purge()
    with brokers.use_broker(broker.url):
        yield broker


@pytest.fixture
def redis_broker():
    """The tests' Redis database only, for tests of Redis itself (its keys, its
    visibility_timeout, its transport). ``.client`` is a redis.Redis of it. Not emptied: a
    test empties what it uses."""
    broker = _connect("redis")
    with brokers.use_broker(broker.url):
        yield broker


@pytest.fixture(scope="module")
def module_worker(django_db_setup, broker):
    """One real `celery worker` of proj for the tests of a module, on each broker in turn, on
    an empty broker (no message left over from another module's failure)."""
    broker.purge()
    worker = processes.start_worker(base_env())
    yield worker
    worker.stop()


@pytest.fixture
def worker(module_worker, transactional_db):
    """The module's worker, for a test whose data the worker must see (committed)."""
    if module_worker.popen.poll() is not None:
        pytest.fail(f"the worker died:\n{module_worker.output[-3000:]}")
    return module_worker


# The settings the tests shorten (tests/settings.py); the tests of timing promises put them
# back to the product's defaults.
SHORTENED = (
    "TICK_INTERVAL",
    "LOOKAHEAD",
    "REQUEUE_AFTER",
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "RETRY_BACKOFF",
    "RETRY_BACKOFF_MAX",
    "MAX_LOST",
)


@pytest.fixture
def product_defaults(settings):
    """This process at the product's defaults; call it for the environment that puts the
    processes a test starts there too (FUTURE_CELERY_PRODUCT_DEFAULTS=1), on the broker
    active when it is called (so a broker fixture requested after this one counts)."""
    from future_celery import conf

    for name in SHORTENED:
        setattr(settings, f"FUTURE_CELERY_{name}", conf.DEFAULTS[name])
    return lambda: dict(base_env(), FUTURE_CELERY_PRODUCT_DEFAULTS="1")

"""Test settings: the example project's, with what tests need on top."""

import json
import os

from proj.settings import *  # noqa: F403
from proj.settings import BASE_DIR, DATABASES, broker_transport_options
from tests.brokers import transport_for

# django-background-tasks itself (its table and its @background), for the tests of
# manage.py import_background_tasks, which moves its rows into ours.
INSTALLED_APPS = [*INSTALLED_APPS, "background_task"]  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: tests start other processes that must see the same database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SQLITE_TEST_NAME", str(BASE_DIR / "test-core.sqlite3"))
    }

# A Redis database of the tests' own, so that a running `make run` is not disturbed.
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
# proj chose its transport from its own URL; this one's follows the URL above (our Redis
# transport for Redis, kombu's default for amqp://), also in the workers the tests start.
CELERY_BROKER_TRANSPORT = transport_for(CELERY_BROKER_URL)
# And its options: for filesystem:// (kombu's filesystem transport) folders of the tests' own,
# beside those of a `make run` (TEST_CELERY_BROKER_FOLDER for others).
CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(
    CELERY_BROKER_URL, os.environ.get("TEST_CELERY_BROKER_FOLDER", BASE_DIR / ".broker" / "tests")
)

# The tests' own callables, the superdjango seed's and the benchmark's, beside proj's.
FUTURE_CELERY_ALLOWED_CALLABLES = [
    *FUTURE_CELERY_ALLOWED_CALLABLES,  # noqa: F405
    "tests.*",
    "example.*",
    "bench.*",
    "seed-*",  # names given to the seed's @background (tests/seed_tasks.py)
]

# A router that fails for one queue (tests/integration/test_poison_rows.py).
CELERY_TASK_ROUTES = ["tests.routing.refuse_poison_route"]

# A beat_schedule of the project's own (JSON: {name: {"task", "schedule" in seconds, "args"}}),
# for the tests of celery beat running it beside the tick.
if os.environ.get("TEST_BEAT_SCHEDULE"):
    CELERY_BEAT_SCHEDULE = json.loads(os.environ["TEST_BEAT_SCHEDULE"])

# Short intervals, so that the engine's tests (and the processes they start, which use these
# settings too) see ticks, heartbeats and retries within seconds. With
# FUTURE_CELERY_PRODUCT_DEFAULTS=1 (the tests of timing promises) every future_celery setting
# keeps the product's default.
if os.environ.get("FUTURE_CELERY_PRODUCT_DEFAULTS") != "1":
    FUTURE_CELERY_TICK_INTERVAL = float(os.environ.get("FUTURE_CELERY_TICK_INTERVAL", "1"))
    FUTURE_CELERY_LOOKAHEAD = float(os.environ.get("FUTURE_CELERY_LOOKAHEAD", "3"))
    FUTURE_CELERY_REQUEUE_AFTER = float(os.environ.get("FUTURE_CELERY_REQUEUE_AFTER", "5"))
    FUTURE_CELERY_HEARTBEAT_INTERVAL = float(
        os.environ.get("FUTURE_CELERY_HEARTBEAT_INTERVAL", "0.5")
    )
    FUTURE_CELERY_HEARTBEAT_TIMEOUT = float(os.environ.get("FUTURE_CELERY_HEARTBEAT_TIMEOUT", "3"))
    FUTURE_CELERY_RETRY_BACKOFF = float(os.environ.get("FUTURE_CELERY_RETRY_BACKOFF", "0.5"))
    FUTURE_CELERY_RETRY_BACKOFF_MAX = 5.0
# A process started with FUTURE_CELERY_DISPATCH_ON_COMMIT=0 leaves every dispatch to the tick.
FUTURE_CELERY_DISPATCH_ON_COMMIT = os.environ.get("FUTURE_CELERY_DISPATCH_ON_COMMIT", "1") != "0"
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_TASK_SEND_SENT_EVENT = False

"""A broker that is down or does not answer never holds up the caller of schedule_job() for
more than about FUTURE_CELERY_BROKER_TIMEOUT (at its default): the row is saved, scheduled,
and the tick dispatches it once the broker is back. (Before: 6 s per call on a refused port,
minutes on a broker that accepts connections and never answers.)"""

import logging
import socket
import time

import pytest
from django.db import transaction

from future_celery import broker, conf, dispatch, schedule_job
from tests.brokers import use_broker

pytestmark = pytest.mark.django_db(transaction=True)

# The promise's margin over the bound: connecting, one send and one receive at most, and the
# commit's own work on a loaded machine.
MARGIN = 1.0


@pytest.fixture(autouse=True)
def fresh_broker_state():
    broker.forget()
    yield
    broker.forget()


@pytest.fixture
def refused_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with use_broker(f"redis://127.0.0.1:{port}/0"):
        yield f"127.0.0.1:{port}"


@pytest.fixture
def silent():
    """A broker that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    with use_broker(f"redis://127.0.0.1:{sock.getsockname()[1]}/0"):
        yield sock
    sock.close()


def accepted(sock) -> int:
    """How many connections the silent broker has had since the last call."""
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def assert_left_to_the_tick(job):
    job.refresh_from_db()
    assert job.status == "scheduled" and job.task_id == "" and job.dispatches == 0


def test_the_bound_is_under_a_second_by_default():
    assert conf.DEFAULTS["BROKER_TIMEOUT"] < 1


def test_a_refused_broker_returns_at_once_and_leaves_the_job_to_the_tick(refused_url, caplog):
    caplog.set_level(logging.DEBUG, logger="future_celery")
    job, elapsed = timed(lambda: schedule_job("0s", "proj.demo.jobs.say_hello"))
    assert elapsed < conf.get("BROKER_TIMEOUT") + MARGIN, elapsed
    assert_left_to_the_tick(job)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert refused_url in message and "the tick will dispatch them" in message
    assert warnings[0].exc_info is None and "\n" not in message  # one line, no traceback
    assert any(r.levelno == logging.DEBUG and r.exc_info for r in caplog.records)


def test_a_silent_broker_holds_the_call_for_the_bound_only(silent):
    job, elapsed = timed(lambda: schedule_job("0s", "proj.demo.jobs.say_hello"))
    assert elapsed < conf.get("BROKER_TIMEOUT") + MARGIN, elapsed
    assert accepted(silent) >= 1  # it did try
    assert_left_to_the_tick(job)


def test_inside_a_transaction_the_commit_is_bounded_too(silent):
    def schedule_and_commit():
        with transaction.atomic():
            return schedule_job("0s", "proj.demo.jobs.say_hello")

    job, elapsed = timed(schedule_and_commit)
    assert elapsed < conf.get("BROKER_TIMEOUT") + MARGIN, elapsed
    assert_left_to_the_tick(job)


def test_after_a_failure_calls_leave_their_jobs_to_the_tick_without_trying(silent, caplog):
    schedule_job("0s", "proj.demo.jobs.say_hello")
    assert accepted(silent) >= 1
    caplog.clear()
    jobs = [schedule_job("0s", "proj.demo.jobs.say_hello") for _ in range(5)]
    assert accepted(silent) == 0  # not one more connection
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    for job in jobs:
        assert_left_to_the_tick(job)


def test_after_the_quiet_seconds_the_broker_is_tried_again(silent, monkeypatch):
    schedule_job("0s", "proj.demo.jobs.say_hello")
    assert accepted(silent) >= 1 and not broker.available()
    monkeypatch.setattr(broker, "QUIET_AFTER_FAILURE", 0.0)
    schedule_job("0s", "proj.demo.jobs.say_hello")
    assert accepted(silent) >= 1


@pytest.mark.engine
def test_the_tick_dispatches_them_once_the_broker_is_back(redis_broker, refused_url):
    job = schedule_job("0s", "proj.demo.jobs.say_hello")
    assert_left_to_the_tick(job)
    with use_broker(redis_broker.url):
        assert dispatch.tick().dispatched == 1
    job.refresh_from_db()
    assert job.status == "queued" and job.dispatches == 1

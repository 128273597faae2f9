"""Every option is checked against what its column holds and what a worker honours before
anything is written, on every front door: a bad one raises our InvalidOption (or
WrongOptionType) naming the option and its limit, never the database's DataError, and saves
nothing. Property-based tests (hypothesis) throw every kind of value at each option of the
public entry points: each call either succeeds, storing what it was given, or raises one of
our errors and saves nothing."""

import datetime as dt
import math
import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from future_celery import ScheduledJob, background, recurring, schedule_job, schedule_jobs
from future_celery.exceptions import FutureCeleryError, InvalidOption
from future_celery.models import RecurringJob
from future_celery.options import MAX_INT, MAX_SECONDS

pytestmark = pytest.mark.django_db

CALLABLE = "proj.demo.jobs.add"


@background
def fuzzed(a, b):
    return a + b


def refused(call, *names):
    """Call it; it must raise one of our InvalidOption errors that names each of ``names``,
    and leave no row behind."""
    jobs, recurrings = ScheduledJob.objects.count(), RecurringJob.objects.count()
    with pytest.raises(InvalidOption) as raised:
        call()
    for name in names:
        assert name in str(raised.value), raised.value
    assert ScheduledJob.objects.count() == jobs and RecurringJob.objects.count() == recurrings
    return str(raised.value)


# What the outside check found (each failed on main with PostgreSQL's DataError, or saved)


def test_max_attempts_past_the_column_is_refused_at_every_door():
    message = refused(lambda: schedule_job("1h", CALLABLE, max_attempts=2**31), "max_attempts")
    assert "2,147,483,647" in message
    refused(
        lambda: schedule_jobs([{"when": "1h", "callable": CALLABLE, "max_attempts": 2**40}]),
        "jobs[0]",
        "max_attempts",
    )
    job = schedule_job("1h", CALLABLE, max_attempts=MAX_INT)
    job.refresh_from_db()
    assert job.max_attempts == MAX_INT


@pytest.mark.parametrize("queue", ["q" * 201, "a\x00b", "line\nbreak", "é" * 150])
def test_a_queue_the_column_or_a_broker_cannot_hold_is_refused_at_every_door(queue):
    refused(lambda: schedule_job("1h", CALLABLE, queue=queue), "queue")
    refused(lambda: schedule_jobs([{"when": "1h", "callable": CALLABLE, "queue": queue}]), "queue")
    refused(lambda: fuzzed(1, 2, queue=queue), "queue")
    refused(lambda: recurring("fuzzed", CALLABLE, every="1 hour", queue=queue), "queue")


def test_an_empty_queue_is_the_default_queue():
    job = schedule_job("1h", CALLABLE, queue="")
    job.refresh_from_db()
    assert job.queue == ""
    longest = schedule_job("1h", CALLABLE, queue="q" * 200)
    assert ScheduledJob.objects.get(pk=longest.pk).queue == "q" * 200


@pytest.mark.parametrize("limit", ["soft_time_limit", "time_limit"])
@pytest.mark.parametrize("value", [1e300, math.inf, math.nan, MAX_SECONDS * 2, 0, -1])
def test_a_time_limit_no_worker_can_honour_is_refused(limit, value):
    message = refused(lambda: schedule_job("1h", CALLABLE, **{limit: value}), limit)
    if value > 0:
        assert "the longest a worker's timer can wait" in message


def test_a_long_time_limit_a_worker_can_wait_is_kept():
    job = schedule_job("1h", CALLABLE, soft_time_limit=86400 * 365, time_limit=MAX_SECONDS)
    job.refresh_from_db()
    assert (job.soft_time_limit, job.time_limit) == (86400 * 365, MAX_SECONDS)


def test_background_repeat_past_the_column_or_not_finite_is_refused():
    for repeat in (2**31, 1e300, math.inf, math.nan):
        refused(lambda repeat=repeat: fuzzed(1, 2, repeat=repeat), "repeat")


def test_recurring_texts_the_columns_cannot_hold_are_refused():
    refused(lambda: recurring("x" * 201, CALLABLE, every="1 hour"), "label", "200")
    refused(lambda: recurring("a\x00b", CALLABLE, every="1 hour"), "label", "NUL")
    refused(lambda: recurring("ok", CALLABLE, every="1 hour", description="\x00"), "description")
    refused(lambda: recurring("ok", CALLABLE, every="1 hour", expires_after=1e300), "expires")


def test_a_tasks_backend_whose_retries_overflow_max_attempts_is_refused(settings):
    from future_celery.exceptions import InvalidBackendOptions
    from future_celery.tasks_backend import FutureCeleryBackend

    with pytest.raises(InvalidBackendOptions, match="RETRIES"):
        FutureCeleryBackend("big", {"QUEUES": [], "OPTIONS": {"RETRIES": MAX_INT}})


# Property-based: every value, every option


anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x20), max_size=5),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.timedeltas(),
)

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def holds_or_refuses(call, stored):
    """``call()`` succeeds and what ``stored(result)`` reads back from the database equals
    what it returned, or raises one of our errors and saves nothing. In a savepoint rolled
    back afterwards, so that each example starts from the same rows."""
    with transaction.atomic():
        before = ScheduledJob.objects.count(), RecurringJob.objects.count()
        try:
            result = call()
        except FutureCeleryError:
            assert (ScheduledJob.objects.count(), RecurringJob.objects.count()) == before
        else:
            saved, given_back = stored(result)
            assert saved == given_back
        transaction.set_rollback(True)


def read_back(*fields):
    def stored(job):
        row = type(job).objects.filter(pk=job.pk).values(*fields).get()
        return row, {field: getattr(job, field) for field in fields}

    return stored


JOB_OPTIONS = ("queue", "priority", "max_attempts", "soft_time_limit", "time_limit", "expires")


@FUZZ
@given(option=st.sampled_from(JOB_OPTIONS), value=anything)
def test_schedule_job_stores_any_option_or_refuses_it(option, value):
    holds_or_refuses(
        lambda: schedule_job("1h", CALLABLE, **{option: value}),
        read_back(*[o if o != "expires" else "time_slot_end" for o in JOB_OPTIONS]),
    )


@FUZZ
@given(option=st.sampled_from(JOB_OPTIONS), value=anything)
def test_schedule_jobs_stores_any_option_or_refuses_it(option, value):
    holds_or_refuses(
        lambda: schedule_jobs([{"when": "1h", "callable": CALLABLE, option: value}])[0],
        read_back("queue", "priority", "max_attempts", "soft_time_limit", "time_limit"),
    )


@FUZZ
@given(
    option=st.sampled_from(("queue", "priority", "repeat", "verbose_name", "schedule")),
    value=anything,
)
def test_background_stores_any_option_or_refuses_it(option, value):
    holds_or_refuses(
        lambda: fuzzed(1, 2, **{option: value}),
        read_back("queue", "priority", "repeat", "verbose_name", "time_slot_start"),
    )


@FUZZ
@given(
    option=st.sampled_from(
        ("queue", "priority", "description", "expires_after", "tz", "catch_up", "at")
    ),
    value=anything,
    label=st.text(min_size=1, max_size=210),
)
def test_recurring_stores_any_option_or_refuses_it(option, value, label):
    holds_or_refuses(
        lambda: recurring(label, CALLABLE, every="1 day", **{option: value}),
        read_back("label", "queue", "priority", "description", "expires_after", "timezone"),
    )


@FUZZ
@given(
    when=st.one_of(anything, st.datetimes(timezones=st.just(dt.UTC))),
    expires=anything,
)
def test_any_time_and_expiry_is_stored_or_refused(when, expires):
    holds_or_refuses(
        lambda: schedule_job(when, CALLABLE, expires=expires),
        read_back("time_slot_start", "time_slot_end"),
    )

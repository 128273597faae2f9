"""django-background-tasks 1.2.8's own promises that its test suite checks, kept by our
drop-in (future_celery.compat.background_task): the retry limit read at failure time, a late
repeat skipping the past slots, the schedule dict, remove_existing_tasks per call, any integer
priority, a reused name, dicts with integer keys, InvalidTaskError (and DoNotRetry for every
door) and how tasks print. Run here by the in-process runners (run_jobs, process_tasks); on
Celery workers in tests/acceptance/test_background_on_celery.py."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core.management import call_command
from django.utils import timezone

from future_celery import ScheduledJob, retries, run_jobs, schedule_job
from future_celery.background_decorator import background_priority
from future_celery.compat.background_task import background
from future_celery.compat.background_task.exceptions import BackgroundTaskError, InvalidTaskError
from future_celery.exceptions import (
    ArgumentNotSerializable,
    DoNotRetry,
    FutureCeleryError,
    InvalidOption,
    WrongOptionType,
)
from proj.demo import tasks as demo
from proj.demo.models import Execution
from tests import background_tasks as bg

pytestmark = pytest.mark.django_db


def runs(label: str) -> int:
    return Execution.objects.filter(label=label).count()


def due_again(job: ScheduledJob) -> None:
    """Bring a retried job's next attempt to now (instead of waiting out its backoff)."""
    ScheduledJob.objects.filter(pk=job.pk).update(time_slot_start=timezone.now())


def seconds_from_now(when: dt.datetime) -> float:
    return (when - timezone.now()).total_seconds()


# A. The retry limit is the setting when the job fails, not when it was scheduled.


def test_a_lowered_max_attempts_fails_the_waiting_jobs_at_their_next_failure(settings):
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 25
    job = bg.record("lowered", fail=True, schedule=0)
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "scheduled" and job.attempts == 1  # 24 attempts left, at the time
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 2
    due_again(job)
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 2


def test_a_raised_max_attempts_gives_the_waiting_jobs_more(settings):
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 1
    job = bg.record("raised", fail=True, schedule=0)
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 3
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "scheduled" and job.attempts == 1
    assert retries.attempts_allowed(job) == 3


def test_a_max_attempts_set_on_the_job_is_kept_whatever_the_setting(settings):
    job = bg.record("explicit", fail=True, schedule=0)
    assert job.max_attempts == retries.FOLLOW_BACKGROUND_SETTING
    ScheduledJob.objects.filter(pk=job.pk).update(max_attempts=3)  # as the admin edits it
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 1
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "scheduled" and job.attempts == 1  # its own 3, not the setting's 1
    # schedule_job's jobs keep theirs too: the setting is @background's.
    other = schedule_job(timezone.now(), "proj.demo.jobs.boom", max_attempts=2)
    run_jobs(ignore_errors=True)
    other.refresh_from_db()
    assert other.status == "scheduled" and retries.attempts_allowed(other) == 2


def test_a_repeating_jobs_next_job_follows_the_setting_too(settings):
    start = timezone.now() - dt.timedelta(seconds=5)
    job = bg.record("repeat-follows", schedule=start, repeat=60)
    run_jobs()
    following = ScheduledJob.objects.get(repeat_of=job)
    assert following.max_attempts == retries.FOLLOW_BACKGROUND_SETTING
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 7
    assert retries.attempts_allowed(following) == 7


@pytest.mark.parametrize("value", [0, -1, "25", None, 2.5])
def test_a_bad_max_attempts_setting_is_refused_at_schedule_time(settings, value):
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = value
    with pytest.raises(InvalidOption, match="FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS"):
        bg.record("bad-setting")
    assert ScheduledJob.objects.count() == 0


def test_a_bad_max_attempts_setting_at_failure_time_is_logged_and_the_default_used(
    settings, caplog
):
    job = bg.record("bad-later", fail=True, schedule=0)
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = "many"
    with caplog.at_level(logging.ERROR, logger="future_celery.retries"):
        run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "scheduled" and job.attempts == 1  # retried, as with 25
    assert "FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 'many'" in caplog.text


# C. A late repeating job runs once; its next job is the next slot of its grid in the future.


def test_a_week_late_hourly_job_runs_once_and_its_next_job_is_the_next_slot_ahead():
    start = timezone.now() - dt.timedelta(weeks=1, minutes=10)
    job = bg.record("week-late", schedule=start, repeat=background.HOURLY)
    run_jobs()
    assert runs("week-late") == 1  # not 169 runs back to back
    following = ScheduledJob.objects.get(repeat_of=job)
    assert following.status == "scheduled"
    assert 0 < seconds_from_now(following.time_slot_start) <= 3600
    assert (following.time_slot_start - start) % dt.timedelta(hours=1) == dt.timedelta(0)
    assert following.slot == following.time_slot_start
    assert following.time_slot_start - start == dt.timedelta(weeks=1, hours=1)


def test_a_late_job_whose_next_slot_ahead_is_past_repeat_until_ends_its_chain():
    start = timezone.now() - dt.timedelta(hours=5, minutes=10)
    job = bg.record(
        "late-until", schedule=start, repeat=3600, repeat_until=start + dt.timedelta(hours=5)
    )
    run_jobs()
    assert runs("late-until") == 1
    assert not ScheduledJob.objects.filter(repeat_of=job).exists()


def test_a_job_less_late_than_its_interval_keeps_the_next_slot():
    start = timezone.now() - dt.timedelta(seconds=50)
    job = bg.record("on-grid", schedule=start, repeat=60)
    run_jobs()
    following = ScheduledJob.objects.get(repeat_of=job)
    assert following.time_slot_start == start + dt.timedelta(seconds=60)


# E. schedule as a dict, merged with the decorator's; schedule=None is the decorator's.


def test_the_decorators_schedule_dict_gives_the_priority_and_time():
    job = bg.with_default_priority("dict-priority")
    assert job.priority == background_priority(2)
    assert seconds_from_now(job.time_slot_start) <= 1  # no run_at: now
    job = bg.with_default_schedule("dict-both")
    assert job.priority == background_priority(5)
    assert 88 <= seconds_from_now(job.time_slot_start) <= 90


def test_a_calls_schedule_dict_is_merged_with_the_decorators():
    at = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    job = bg.with_default_schedule("call-both", schedule={"run_at": at, "priority": 2})
    assert job.time_slot_start == at and job.priority == background_priority(2)
    job = bg.with_default_schedule("call-priority", schedule={"priority": 1})
    assert 88 <= seconds_from_now(job.time_slot_start) <= 90  # the decorator's run_at
    assert job.priority == background_priority(1)
    job = bg.with_default_schedule("call-time", schedule={"run_at": 30})
    assert 28 <= seconds_from_now(job.time_slot_start) <= 30
    assert job.priority == background_priority(5)  # the decorator's priority
    job = bg.with_default_schedule("call-kw", schedule={"priority": 1}, priority=-3)
    assert job.priority == background_priority(-3)  # the keyword wins over the schedule


def test_schedule_none_is_the_decorators_default():
    job = demo.notify_user(1, schedule=None)  # @background(schedule=60)
    assert 58 <= seconds_from_now(job.time_slot_start) <= 60
    job = bg.with_default_schedule("none", schedule=None)
    assert 88 <= seconds_from_now(job.time_slot_start) <= 90
    assert job.priority == background_priority(5)
    assert "schedule" not in job.kwargs


@pytest.mark.parametrize(
    ("schedule", "error", "text"),
    [
        ({"when": 5}, InvalidOption, "takes the keys run_at and priority"),
        ({"action": 1}, InvalidOption, "action 1"),
        ({"priority": "high"}, WrongOptionType, "priority must be a whole number"),
        ({"run_at": True}, WrongOptionType, "schedule must be"),
        ({"run_at": [5]}, WrongOptionType, "schedule must be"),
    ],
)
def test_a_bad_schedule_dict_is_refused_and_nothing_is_saved(schedule, error, text):
    with pytest.raises(error, match=text):
        bg.record("bad-dict", schedule=schedule)
    with pytest.raises(error, match=text):
        background(schedule=schedule)(bg.record.task_function)
    assert ScheduledJob.objects.count() == 0


# F. remove_existing_tasks given at call time.


def test_remove_existing_tasks_per_call_removes_the_pending_jobs_of_the_same_arguments():
    first = bg.record("per-call", schedule=60)
    other = bg.record("another", schedule=60)
    second = bg.record("per-call", schedule=120, remove_existing_tasks=True)
    assert not ScheduledJob.objects.filter(pk=first.pk).exists()
    assert ScheduledJob.objects.filter(pk__in=[other.pk, second.pk]).count() == 2
    assert second.kwargs == {}  # an option of the call, not an argument of the function


def test_remove_existing_tasks_false_per_call_overrides_the_decorators_true():
    first = demo.refresh_cache("kept", schedule=60)  # @background(remove_existing_tasks=True)
    demo.refresh_cache("kept", schedule=120, remove_existing_tasks=False)
    assert ScheduledJob.objects.filter(pk=first.pk).exists()
    assert ScheduledJob.objects.count() == 2


def test_a_remove_existing_tasks_that_is_not_a_boolean_is_refused():
    with pytest.raises(WrongOptionType, match="remove_existing_tasks must be True or False"):
        bg.record("not-bool", remove_existing_tasks="yes")
    assert ScheduledJob.objects.count() == 0


# G. Any integer priority, 0 by default, stored in the row's (and broker's) 0..255 in order.


def test_any_integer_is_a_priority_and_the_default_is_zero():
    assert bg.record("p-default").priority == background_priority(0) == 128
    assert bg.record("p-minus", priority=-1).priority == 127
    assert bg.record("p-99", priority=99).priority == 227
    assert bg.record("p-huge", priority=10**6).priority == 255
    assert bg.record("p-tiny", priority=-(10**6)).priority == 0


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [("DESC", ["99", "0", "-1", "-20"]), ("ASC", ["-20", "-1", "0", "99"])],
)
def test_process_tasks_keeps_the_order_of_negative_and_positive_priorities(
    settings, ordering, expected
):
    settings.FUTURE_CELERY_PRIORITY_ORDERING = ordering
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    past = timezone.now() - dt.timedelta(seconds=1)
    for priority in (0, -1, 99, -20):
        bg.record(str(priority), schedule=past, priority=priority)
    call_command("process_tasks", "--duration", "1", "--sleep", "0.1")
    assert list(Execution.objects.order_by("id").values_list("label", flat=True)) == expected


@pytest.mark.parametrize("priority", ["high", 1.5, True])
def test_a_priority_that_is_not_a_whole_number_is_refused(priority):
    with pytest.raises(WrongOptionType, match="priority must be a whole number"):
        bg.record("bad-priority", priority=priority)
    assert ScheduledJob.objects.count() == 0


# H. A reused name (the newest function wins); dicts with integer keys.


def test_a_second_function_may_reuse_a_name_and_the_newest_wins():
    first = background(name="tests.bg.reused")(bg.first_of_a_name)
    job = first("x", schedule=0)
    second = background(name="tests.bg.reused")(bg.second_of_a_name)
    assert second.name == first.name == job.callable_name == "tests.bg.reused"
    run_jobs()
    job.refresh_from_db()
    assert job.status == "complete" and job.return_value == "second x"


def test_a_dict_with_integer_keys_is_an_argument_its_keys_made_strings_as_json_does():
    job = bg.keys_of({22222: 2, 11111: 1}, nested={"inner": {1.5: "a", True: "b", None: "c"}})
    assert job.args == [{"22222": 2, "11111": 1}]
    assert job.kwargs == {"nested": {"inner": {"1.5": "a", "true": "b", "null": "c"}}}
    ScheduledJob.objects.filter(pk=job.pk).update(time_slot_start=timezone.now())
    run_jobs()
    job.refresh_from_db()
    assert job.status == "complete"
    assert job.return_value == str(["11111", "22222", "1.5", "null", "true"])


@pytest.mark.parametrize(
    ("mapping", "text"),
    [
        ({1: "a", "1": "b"}, "its keys 1 and '1' would both be the key \"1\""),
        ({(1, 2): "a"}, "key \\(1, 2\\) is a tuple"),
    ],
)
def test_a_dict_whose_keys_json_cannot_keep_apart_or_store_is_refused(mapping, text):
    with pytest.raises(ArgumentNotSerializable, match=text):
        bg.keys_of(mapping)
    assert ScheduledJob.objects.count() == 0


# I. InvalidTaskError (and DoNotRetry, in every door) fails a job at once, without retries.


def test_invalid_task_error_is_django_background_tasks_and_a_do_not_retry():
    assert issubclass(InvalidTaskError, BackgroundTaskError)
    assert issubclass(InvalidTaskError, DoNotRetry) and issubclass(DoNotRetry, FutureCeleryError)
    assert InvalidTaskError("gone", errors=["x"]).errors == ["x"]


def test_invalid_task_error_fails_the_task_at_once_in_run_jobs(settings):
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 25
    job = bg.invalid("inv", schedule=0)
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 1
    assert "NoSuchInvoice: inv: the invoice is gone" in job.error
    assert "Not retried" in job.error


def test_invalid_task_error_fails_the_task_at_once_in_process_tasks(settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    job = bg.invalid("inv-pt", schedule=0)
    control = bg.record("control", fail=True, schedule=0)
    call_command("process_tasks", "--duration", "1", "--sleep", "0.1")
    job.refresh_from_db()
    control.refresh_from_db()
    assert job.status == "failed" and job.attempts == 1
    assert control.status == "scheduled" and control.attempts == 1  # an ordinary error: retried


def test_do_not_retry_fails_a_schedule_job_job_at_once():
    job = schedule_job(
        timezone.now(), "tests.background_tasks.fail_for_good", args=["dn"], max_attempts=5
    )
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 1 and "DoNotRetry" in job.error


# J. How tasks and the decorated functions print.


def test_str_of_a_task_is_its_verbose_name_else_its_name_and_of_the_function_taskproxy():
    assert str(demo.notify_user) == "TaskProxy(proj.demo.tasks.notify_user)"
    assert str(bg.record) == "TaskProxy(tests.background_tasks.record)"
    assert str(bg.record("str")) == "tests.background_tasks.record"
    assert str(bg.record("str", verbose_name="My Task")) == "My Task"
    # A row read from the table prints as any job does (the admin's title, with its id).
    job = ScheduledJob.objects.filter(verbose_name="My Task").get()
    assert str(job) == f"#{job.pk} tests.background_tasks.record (scheduled)"

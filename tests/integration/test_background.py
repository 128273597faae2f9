"""django-background-tasks' promises, from its README's own examples, kept by @background on
future_celery's rows (run here by the in-process runner; on Celery workers in
tests/acceptance/test_background_on_celery.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from future_celery import ScheduledJob, background, callables, retries, run_jobs
from future_celery.background_decorator import BackgroundTask
from future_celery.exceptions import CallableNotFound, InvalidOption, WrongOptionType
from proj.demo import tasks
from proj.demo.models import Execution, Note
from proj.demo.tasks import notify_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return User.objects.create(username="ada", email="ada@example.com")


def runs(label: str) -> int:
    return Execution.objects.filter(label=label).count()


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_calling_a_background_function_schedules_it_60_seconds_from_now(user):
    before = timezone.now()
    job = notify_user(user.id)
    assert isinstance(job, ScheduledJob) and job.pk and job.status == "scheduled"
    assert job.callable_name == "proj.demo.tasks.notify_user"
    assert job.args == [user.id] and job.kwargs == {}
    assert before + dt.timedelta(seconds=60) <= job.time_slot_start <= later(60)
    assert runs("notify-ada") == 0  # the body did not run


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [(90, 90), (dt.timedelta(minutes=20), 1200), (2.5, 2.5), ("5m", 300)],
)
def test_the_schedule_is_overridden_per_call(user, schedule, seconds):
    before = timezone.now()
    job = notify_user(user.id, schedule=schedule)
    assert before + dt.timedelta(seconds=seconds) <= job.time_slot_start <= later(seconds)


def test_the_schedule_may_be_a_specific_time_aware_or_naive(user):
    at = timezone.now().replace(microsecond=0) + dt.timedelta(days=2)
    assert notify_user(user.id, schedule=at).time_slot_start == at
    naive = timezone.make_naive(at)  # read in the current time zone
    assert notify_user(user.id, schedule=naive).time_slot_start == at


def test_now_runs_the_function_synchronously_and_task_function_is_the_original(user):
    assert notify_user.now(user.id) == "ada"
    assert runs("notify-ada") == 1
    assert ScheduledJob.objects.count() == 0
    revert = notify_user.now  # "revert task function back to normal function"
    assert revert(user.id) == "ada" and runs("notify-ada") == 2
    assert notify_user.task_function.__name__ == "notify_user"
    assert not isinstance(notify_user.task_function, BackgroundTask)


def test_a_scheduled_call_runs_the_body_once_with_its_arguments(user):
    job = notify_user(user.id, schedule=0)
    run_jobs()
    job.refresh_from_db()
    assert job.status == "complete" and job.return_value == "ada"
    assert runs("notify-ada") == 1


def test_verbose_name_and_creator_are_kept_and_the_creator_may_be_any_model(user):
    job = notify_user(user.id, verbose_name="Notify user", creator=user)
    job = ScheduledJob.objects.get(pk=job.pk)
    assert job.verbose_name == "Notify user" and job.creator == user
    note = Note.objects.create(title="any model")
    other = notify_user(user.id, creator=note)
    assert ScheduledJob.objects.get(pk=other.pk).creator == note
    assert ScheduledJob.objects.get(pk=other.pk).creator_content_type == (
        ContentType.objects.get_for_model(Note)
    )


def test_an_unsaved_creator_is_refused_and_nothing_is_saved(user):
    with pytest.raises(InvalidOption, match="creator must be saved"):
        notify_user(user.id, creator=User(username="ghost"))
    with pytest.raises(WrongOptionType, match="creator must be a model instance"):
        notify_user(user.id, creator="ada")
    assert ScheduledJob.objects.count() == 0


def test_arguments_follow_schedule_jobs_json_rules(user):
    with pytest.raises(TypeError, match="cannot be stored"):
        notify_user(object())
    assert ScheduledJob.objects.count() == 0


def test_the_repeat_constants_are_the_seeds_seconds():
    from future_celery.compat.background_task.models import Task

    expected = {
        "NEVER": 0,
        "HOURLY": 3600,
        "DAILY": 86400,
        "WEEKLY": 604800,
        "EVERY_2_WEEKS": 1209600,
        "EVERY_4_WEEKS": 2419200,
    }
    for name, seconds in expected.items():
        assert getattr(background, name) == seconds
        assert getattr(ScheduledJob, name) == seconds
        assert getattr(Task, name) == seconds


def test_a_repeating_task_schedules_the_next_one_repeat_seconds_after_its_scheduled_time():
    start = timezone.now() - dt.timedelta(seconds=30)
    job = tasks.record_background("tick", schedule=start, repeat=background.HOURLY)
    assert job.repeat == 3600 and job.repeat_until is None
    run_jobs()
    job.refresh_from_db()
    assert job.status == "complete"
    following = ScheduledJob.objects.get(repeat_of=job)
    # From the scheduled time, not from when it ran (30 s late): no drift.
    assert following.time_slot_start == start + dt.timedelta(hours=1)
    assert following.status == "scheduled" and following.repeat == 3600
    assert following.args == ["tick"] and following.callable_name == job.callable_name
    assert job.repeated_as.get() == following


def test_a_retried_repeating_job_keeps_its_slot_for_the_next_one(settings):
    start = timezone.now() - dt.timedelta(seconds=30)
    job = tasks.record_background("flaky", fail=True, schedule=start, repeat=60)
    run_jobs(ignore_errors=True)  # fails; retried later (max attempts 25)
    job.refresh_from_db()
    assert job.status == "scheduled" and job.time_slot_start > start
    ScheduledJob.objects.filter(pk=job.pk).update(
        kwargs={"fail": False}, time_slot_start=timezone.now()
    )
    run_jobs()
    following = ScheduledJob.objects.get(repeat_of=job)
    assert following.time_slot_start == start + dt.timedelta(seconds=60)


def test_the_chain_stops_at_repeat_until():
    start = timezone.now() - dt.timedelta(seconds=10)
    job = tasks.record_background(
        "until", schedule=start, repeat=60, repeat_until=start + dt.timedelta(seconds=90)
    )
    run_jobs()
    second = ScheduledJob.objects.get(repeat_of=job)  # at +60 s: before repeat_until
    ScheduledJob.objects.filter(pk=second.pk).update(time_slot_start=timezone.now())
    run_jobs()
    assert not ScheduledJob.objects.filter(repeat_of=second).exists()  # +120 s is past it


def test_a_job_that_fails_for_good_ends_the_chain(settings):
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 1
    job = tasks.record_background("doomed", fail=True, schedule=0, repeat=60)
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "failed"
    assert not ScheduledJob.objects.filter(repeat_of=job).exists()


def test_the_next_one_is_made_in_the_completions_transaction():
    # The completion rolls back (the job's own writes with it): no next job either.
    job = tasks.record_background("rollback", schedule=0, repeat=60)
    from future_celery import lifecycle

    assert lifecycle.start_in_process(job, worker="test")
    ScheduledJob.objects.filter(pk=job.pk).update(attempts=99)  # the attempt is taken away
    from future_celery.exceptions import InvalidJobState
    from future_celery.execution import execute

    with pytest.raises(InvalidJobState):
        execute(job)
    assert not ScheduledJob.objects.filter(repeat_of=job).exists()
    assert runs("rollback") == 0


def test_a_queue_given_to_the_decorator_is_the_jobs_queue():
    assert tasks.on_my_queue("q").queue == "my-queue"
    assert tasks.on_my_queue("q", queue="other").queue == "other"


def test_a_name_given_to_the_decorator_is_what_the_row_stores_and_it_resolves():
    job = tasks.renamed("by-name", schedule=0)
    assert job.callable_name == "demo.renamed"
    run_jobs()
    assert runs("by-name") == 1


def test_a_renamed_function_is_found_in_the_tasks_modules_by_autodiscovery(monkeypatch):
    monkeypatch.setattr(callables, "_registered", {})
    monkeypatch.setattr(callables, "_discovered", False)
    monkeypatch.delitem(__import__("sys").modules, "proj.demo.tasks")
    assert callables.resolve_path("demo.renamed").__name__ == "renamed"


def test_an_unknown_name_says_what_it_looked_for():
    with pytest.raises(CallableNotFound, match="registered @background function"):
        callables.resolve_path("no_such_task")


def test_remove_existing_tasks_replaces_the_pending_jobs_of_the_same_arguments():
    first = tasks.refresh_cache("a", schedule=60)
    other = tasks.refresh_cache("b", schedule=60)
    second = tasks.refresh_cache("a", schedule=120)
    assert not ScheduledJob.objects.filter(pk=first.pk).exists()
    assert ScheduledJob.objects.filter(pk__in=[other.pk, second.pk]).count() == 2


def test_failed_background_jobs_are_retried_with_the_seeds_polynomial_backoff(settings):
    job = tasks.record_background("retry", fail=True, schedule=0)
    assert retries.attempts_allowed(job) == 25 and job.backoff == "polynomial"
    before = timezone.now()
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "scheduled" and job.attempts == 1
    assert "retry failed" in job.error and job.last_error == job.error
    waited = (job.time_slot_start - before).total_seconds()
    assert 1**4 + 5 <= waited <= 1**4 + 5 + 2  # (attempts ** 4) + 5


def test_the_backoff_formula_and_attempts_are_settings(settings):
    settings.FUTURE_CELERY_BACKGROUND_BACKOFF = "exponential"
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 3
    job = tasks.record_background("retry2", fail=True, schedule=0)
    assert retries.attempts_allowed(job) == 3 and job.backoff == "exponential"


def test_a_bad_backoff_setting_is_refused_clearly(settings):
    settings.FUTURE_CELERY_BACKGROUND_BACKOFF = "quadratic"
    with pytest.raises(InvalidOption, match="FUTURE_CELERY_BACKGROUND_BACKOFF"):
        tasks.record_background("x")
    assert ScheduledJob.objects.count() == 0


def test_schedule_job_keeps_its_own_retry_policy():
    from future_celery import schedule_job

    job = schedule_job("1h", "proj.demo.jobs.add", args=[1, 2])
    assert job.max_attempts == 1 and job.backoff == "exponential"


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"schedule": True}, WrongOptionType, "schedule must be"),
        ({"schedule": [1]}, WrongOptionType, "schedule must be"),
        ({"repeat": -5}, InvalidOption, "repeat must be"),
        ({"repeat": 0.5}, InvalidOption, "repeat must be"),
        ({"repeat": "daily"}, WrongOptionType, "repeat must be"),
        ({"repeat_until": "tomorrow"}, WrongOptionType, "repeat_until must be"),
        ({"priority": "high"}, WrongOptionType, "priority must be a whole number"),
        ({"verbose_name": 5}, WrongOptionType, "verbose_name must be"),
    ],
)
def test_bad_seed_keywords_are_refused_and_nothing_is_saved(options, error, text):
    with pytest.raises(error, match=text):
        tasks.record_background("bad", **options)
    assert ScheduledJob.objects.count() == 0


def test_the_decorator_refuses_what_it_cannot_schedule():
    with pytest.raises(CallableNotFound, match="module level"):
        background(lambda: None)
    with pytest.raises(WrongOptionType, match="schedule must be"):
        background(schedule=object())
    with pytest.raises(WrongOptionType, match="name must be"):
        background(name="")


def test_a_job_has_at_most_one_next_job_whatever_tries_to_make_two():
    from django.db import IntegrityError, transaction

    from future_celery import scheduling

    job = tasks.record_background("once", schedule=60, repeat=60)
    following = scheduling.schedule_repeat(job)
    assert following is not None and following.repeat_of_id == job.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        scheduling.schedule_repeat(job)  # a second next job for the same slot
    assert ScheduledJob.objects.filter(repeat_of=job).count() == 1


def change_url(job: ScheduledJob) -> str:
    return f"/admin/future_celery/scheduledjob/{job.pk}/change/"


def test_the_admin_shows_the_repeat_and_links_the_chain(admin_client):
    job = tasks.record_background("chain", schedule=0, repeat=90)
    run_jobs()
    following = ScheduledJob.objects.get(repeat_of=job)
    listing = admin_client.get("/admin/future_celery/scheduledjob/?repeats=yes").content.decode()
    assert "1 min 30 s" in listing and change_url(following) in listing
    page = admin_client.get(f"/admin/future_celery/scheduledjob/{job.pk}/change/").content.decode()
    assert f"/admin/future_celery/scheduledjob/{following.pk}/change/" in page  # next
    back = admin_client.get(
        f"/admin/future_celery/scheduledjob/{following.pk}/change/"
    ).content.decode()
    assert f"/admin/future_celery/scheduledjob/{job.pk}/change/" in back  # previous


def test_the_admin_filters_by_verbose_name_and_creator_type(admin_client, user):
    mine = notify_user(user.id, verbose_name="Notify user", creator=user)
    other = notify_user(user.id)
    by_name = admin_client.get(
        "/admin/future_celery/scheduledjob/?verbose_name=Notify+user"
    ).content.decode()
    assert change_url(mine) in by_name and change_url(other) not in by_name
    ct = ContentType.objects.get_for_model(User)
    by_creator = admin_client.get(
        f"/admin/future_celery/scheduledjob/?creator_type={ct.pk}"
    ).content.decode()
    assert change_url(mine) in by_creator and change_url(other) not in by_creator


def test_the_schedule_may_be_now(user):
    before = timezone.now()
    job = notify_user(user.id, schedule=timezone.now())
    assert before <= job.time_slot_start <= timezone.now()


def test_a_late_run_makes_the_wait_before_the_next_one_shorter():
    # "If the process command is interrupted, the interval between the original task and its
    # repetition may be shorter than repeat": the next slot counts from this one's slot.
    start = timezone.now() - dt.timedelta(seconds=50)  # ran 50 s late
    job = tasks.record_background("late", schedule=start, repeat=60)
    run_jobs()
    following = ScheduledJob.objects.get(repeat_of=job)
    assert following.time_slot_start == start + dt.timedelta(seconds=60)
    assert following.time_slot_start - timezone.now() < dt.timedelta(seconds=11)


def test_the_polynomial_backoff_is_the_seeds_formula():
    from future_celery.retries import backoff

    assert [backoff(n, "polynomial") for n in (1, 2, 4, 25)] == [6, 21, 261, 390630]
    assert backoff(25, "polynomial") / 86400 == pytest.approx(4.5, abs=0.1)  # "nearly four days"


def test_after_max_attempts_the_job_is_failed_and_not_tried_again(settings):
    settings.FUTURE_CELERY_BACKGROUND_MAX_ATTEMPTS = 2
    job = tasks.record_background("twice", fail=True, schedule=0)
    run_jobs(ignore_errors=True)
    ScheduledJob.objects.filter(pk=job.pk).update(time_slot_start=timezone.now())
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 2 and runs("twice") == 0  # rolled back
    assert "twice failed" in job.last_error


@pytest.mark.parametrize(
    ("ordering", "expected"), [("DESC", ["9", "5", "1"]), ("ASC", ["1", "5", "9"])]
)
def test_process_tasks_runs_in_the_priority_order_of_the_setting(settings, ordering, expected):
    from django.core.management import call_command

    settings.FUTURE_CELERY_PRIORITY_ORDERING = ordering
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    past = timezone.now() - dt.timedelta(seconds=1)
    for priority in (5, 1, 9):
        tasks.record_background(str(priority), schedule=past, priority=priority)
    call_command("process_tasks", "--duration", "1", "--sleep", "0.1")
    order = list(Execution.objects.order_by("id").values_list("label", flat=True))
    assert order == expected


def test_a_bad_priority_ordering_is_refused_clearly(settings):
    from django.core.management import call_command

    settings.FUTURE_CELERY_PRIORITY_ORDERING = "UP"
    with pytest.raises(InvalidOption, match="FUTURE_CELERY_PRIORITY_ORDERING"):
        call_command("process_tasks", "--duration", "1")

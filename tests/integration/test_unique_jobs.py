"""Unique jobs: one pending job (scheduled, queued or running) at most per unique_key, decided
by the database; a second one refused (JobAlreadyScheduled) or the pending one returned
(on_conflict='existing'); schedule_jobs(), reschedule(), repeats, recurring jobs, the admin."""

from __future__ import annotations

import threading

import pytest
from django.contrib.admin.sites import site
from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from future_celery import (
    ScheduledJob,
    background,
    recurring,
    run_jobs,
    schedule_job,
    schedule_jobs,
    unique_jobs,
)
from future_celery import recurring_jobs as engine
from future_celery.exceptions import InvalidOption, JobAlreadyScheduled, WrongOptionType
from future_celery.models import RecurringJob
from proj.demo.jobs import record
from proj.demo.models import Execution, Note

pytestmark = pytest.mark.django_db

SAY = "proj.demo.jobs.say_hello"
PENDING = ScheduledJob.PENDING_STATUSES


@pytest.fixture(autouse=True)
def no_broker(settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


def with_key(key: str) -> list[ScheduledJob]:
    return list(ScheduledJob.objects.filter(unique_key=key).order_by("pk"))


def test_a_second_job_with_the_key_is_refused_while_the_first_is_pending():
    first = schedule_job("1h", SAY, unique_key="invoice-42")
    with pytest.raises(JobAlreadyScheduled) as refused:
        schedule_job("2h", "proj.demo.jobs.add", args=[1, 2], unique_key="invoice-42")
    assert refused.value.key == "invoice-42" and refused.value.job_id == first.pk
    assert f"'invoice-42' is held by pending job #{first.pk}" in str(refused.value)
    assert isinstance(refused.value, ValueError)
    assert with_key("invoice-42") == [first] and ScheduledJob.objects.count() == 1


def test_on_conflict_existing_returns_the_pending_job_and_saves_nothing():
    first = schedule_job("1h", SAY, unique_key="invoice-42")
    again = schedule_job("5m", SAY, args=["Ada"], unique_key="invoice-42", on_conflict="existing")
    assert again.pk == first.pk and again.args == [] and ScheduledJob.objects.count() == 1


@pytest.mark.parametrize("status", PENDING)
def test_a_queued_or_running_job_holds_its_key_too(status):
    first = schedule_job("1h", SAY, unique_key="k")
    ScheduledJob.objects.filter(pk=first.pk).update(status=status)
    with pytest.raises(JobAlreadyScheduled):
        schedule_job("1h", SAY, unique_key="k")


@pytest.mark.parametrize("status", ScheduledJob.FINAL_STATUSES)
def test_the_key_is_free_again_once_the_job_has_ended(status):
    first = schedule_job("1h", SAY, unique_key="k")
    ScheduledJob.objects.filter(pk=first.pk).update(status=status)
    second = schedule_job("1h", SAY, unique_key="k")
    assert [job.pk for job in with_key("k")] == [first.pk, second.pk]


def test_keys_are_compared_exactly_and_jobs_without_one_are_not_limited():
    schedule_job("1h", SAY, unique_key="Invoice-42")
    schedule_job("1h", SAY, unique_key="invoice-42")
    schedule_job("1h", SAY, unique_key="invoice-42 ")
    schedule_job("1h", SAY)
    schedule_job("1h", SAY)
    assert ScheduledJob.objects.count() == 5


def test_a_refusal_leaves_the_callers_transaction_usable():
    with transaction.atomic():
        Note.objects.create(title="before")
        job = schedule_job("1h", SAY, unique_key="k")
        with pytest.raises(JobAlreadyScheduled):
            schedule_job("1h", SAY, unique_key="k")
        Note.objects.create(title="after")  # no "current transaction is aborted"
    assert set(Note.objects.values_list("title", flat=True)) == {"before", "after"}
    assert with_key("k") == [job]


def test_another_integrity_error_is_not_taken_for_a_taken_key():
    """Only the unique-key index's refusal becomes JobAlreadyScheduled."""
    previous, following = schedule_job("1h", SAY), schedule_job("1h", SAY)
    ScheduledJob.objects.filter(pk=following.pk).update(repeat_of=previous)
    copy = ScheduledJob(
        callable_name=SAY,
        time_slot_start=timezone.now(),
        unique_key="fresh",
        repeat_of=previous,  # fc_one_repeat_per_job: previous already has its next job
    )
    with pytest.raises(IntegrityError):
        unique_jobs.insert(copy)
    assert not ScheduledJob.objects.filter(unique_key="fresh").exists()


BAD_KEYS = [
    ("", InvalidOption, "must not be empty"),
    ("   ", InvalidOption, "must not be empty"),
    ("x" * 256, InvalidOption, "at most 255 characters"),
    ("a\x00b", InvalidOption, "control characters"),
    ("a\nb", InvalidOption, "control characters"),
    ("tab\there", InvalidOption, "control characters"),
    (42, WrongOptionType, "must be a string or None"),
    (b"bytes", WrongOptionType, "must be a string or None"),
]


@pytest.mark.parametrize(("key", "error", "message"), BAD_KEYS)
def test_a_bad_key_is_refused_and_nothing_is_saved(key, error, message):
    with pytest.raises(error, match=message):
        schedule_job("1h", SAY, unique_key=key)
    assert not ScheduledJob.objects.exists()


def every_door(key):
    """Each way to give a job a unique key, with ``key``."""
    return {
        "schedule_job": lambda: schedule_job("1h", SAY, unique_key=key),
        "reschedule": lambda: schedule_job("1h", SAY).reschedule("1h", unique_key=key),
        "schedule_jobs": lambda: schedule_jobs(
            [{"when": "1h", "callable": SAY}, {"when": "1h", "callable": SAY, "unique_key": key}]
        ),
        "@background call": lambda: notify(1, schedule={"unique_key": key}),
        "@background decorator": lambda: background(schedule={"unique_key": key})(record),
        "recurring": lambda: recurring("r", SAY, every="1 hour", unique_key=key),
    }


@pytest.mark.parametrize("door", list(every_door("")))
@pytest.mark.parametrize(("key", "error"), [("", InvalidOption), (7, WrongOptionType)])
def test_every_door_refuses_a_bad_key_and_saves_nothing(door, key, error):
    with pytest.raises(error, match="unique_key must"):
        every_door(key)[door]()
    assert not ScheduledJob.objects.exclude(unique_key=None).exists()
    assert ScheduledJob.objects.count() <= 1 and not RecurringJob.objects.exists()


def test_a_key_of_255_characters_is_taken():
    assert schedule_job("1h", SAY, unique_key="é" * 255).unique_key == "é" * 255


@pytest.mark.parametrize("choice", ["ignore", None, "RAISE"])
def test_a_bad_on_conflict_is_refused_and_nothing_is_saved(choice):
    with pytest.raises(InvalidOption, match="on_conflict must be one of raise, existing"):
        schedule_job("1h", SAY, unique_key="k", on_conflict=choice)
    assert not ScheduledJob.objects.exists()


def test_reschedule_keeps_the_key_unless_told_otherwise():
    job = schedule_job("1h", SAY, unique_key="k")
    with pytest.raises(JobAlreadyScheduled):
        job.reschedule("1d")  # the copy is the same job again: refused while job is pending
    assert job.reschedule("1d", on_conflict="existing").pk == job.pk
    free = job.reschedule("1d", unique_key=None)
    assert free.unique_key is None
    ScheduledJob.objects.filter(pk=job.pk).update(status=ScheduledJob.STATUS_COMPLETE)
    copy = job.reschedule("1d")
    assert copy.unique_key == "k" and copy.rescheduled_from == job


def test_schedule_jobs_refuses_a_taken_key_naming_its_index_and_saves_nothing():
    holder = schedule_job("1h", SAY, unique_key="k2")
    specs = [{"when": "1h", "callable": SAY, "unique_key": f"k{n}"} for n in range(5)]
    with pytest.raises(JobAlreadyScheduled, match=r"^jobs\[2\]: unique_key 'k2' is held") as e:
        schedule_jobs(specs, batch_size=2)
    assert e.value.job_id == holder.pk
    assert list(ScheduledJob.objects.all()) == [holder]


def test_schedule_jobs_refuses_a_key_twice_in_the_batch():
    specs = [{"when": "1h", "callable": SAY, "unique_key": key} for key in ("a", "b", "a")]
    with pytest.raises(JobAlreadyScheduled, match=r"jobs\[2\]: .* also that of jobs\[0\]"):
        schedule_jobs(specs)
    assert not ScheduledJob.objects.exists()


def test_schedule_jobs_takes_only_on_conflict_raise():
    made = schedule_jobs(
        [{"when": "1h", "callable": SAY, "unique_key": "a", "on_conflict": "raise"}]
    )
    assert made[0].unique_key == "a"
    with pytest.raises(InvalidOption, match=r"jobs\[0\]: on_conflict must be 'raise'"):
        schedule_jobs(
            [{"when": "1h", "callable": SAY, "unique_key": "b", "on_conflict": "existing"}]
        )
    assert ScheduledJob.objects.count() == 1


@background(schedule=3600)
def notify(user_id):
    record(f"notify {user_id}")


@background(schedule={"unique_key": "rebuild the index"})
def rebuild_index():
    record("rebuilt")


def test_background_calls_take_a_unique_key_in_their_schedule():
    first = notify(7, schedule={"unique_key": "notify-7"})
    with pytest.raises(JobAlreadyScheduled, match=f"pending job #{first.pk}"):
        notify(7, schedule={"run_at": 60, "unique_key": "notify-7"})
    again = notify(7, schedule={"unique_key": "notify-7", "on_conflict": "existing"})
    assert again.pk == first.pk
    notify(8, schedule={"unique_key": "notify-8"})
    notify(7)  # no key
    assert ScheduledJob.objects.count() == 3 and first.kwargs == {}


def test_a_decorators_unique_key_allows_one_pending_job_of_the_function():
    first = rebuild_index()
    assert first.unique_key == "rebuild the index"
    with pytest.raises(JobAlreadyScheduled):
        rebuild_index()
    assert rebuild_index(schedule={"on_conflict": "existing"}).pk == first.pk
    assert rebuild_index(schedule={"unique_key": "another"}).unique_key == "another"


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"unique_key": ""}, "unique_key must not be empty"),
        ({"unique_key": "k", "on_conflict": "skip"}, "on_conflict must be one of"),
    ],
)
def test_a_bad_background_key_or_choice_is_refused_and_nothing_is_saved(schedule, message):
    with pytest.raises(InvalidOption, match=message):
        notify(1, schedule=schedule)
    assert not ScheduledJob.objects.exists()


def test_a_repeating_job_passes_its_key_to_its_next_job():
    job = notify("r", schedule={"run_at": 0, "unique_key": "repeating"}, repeat=3600)
    run_jobs()
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_COMPLETE and job.unique_key == "repeating"
    [following] = job.repeated_as.all()
    assert following.unique_key == "repeating" and following.status == "scheduled"
    assert ScheduledJob.objects.filter(unique_key="repeating", status__in=PENDING).count() == 1
    assert Execution.objects.filter(label="notify r").count() == 1


@pytest.mark.django_db(transaction=True)  # its commit checks the deferred foreign keys
def test_a_repeating_job_deleted_on_completion_passes_its_key_too():
    job = notify("d", schedule={"run_at": 0, "unique_key": "deleted"}, repeat=3600)
    run_jobs(delete_completed=True)
    assert not ScheduledJob.objects.filter(pk=job.pk).exists()
    [following] = ScheduledJob.objects.filter(unique_key="deleted")
    assert following.status == "scheduled" and following.repeat == 3600


def test_a_job_waiting_for_its_retry_keeps_its_key(settings):
    settings.FUTURE_CELERY_RETRY_BACKOFF = 3600
    job = schedule_job("0s", "proj.demo.jobs.boom", unique_key="retried", max_attempts=3)
    run_jobs(ignore_errors=True)
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_SCHEDULED and job.attempts == 1
    with pytest.raises(JobAlreadyScheduled):
        schedule_job("1h", SAY, unique_key="retried")


def test_a_recurring_jobs_slot_is_skipped_while_its_key_is_held():
    job = recurring("keyed", "proj.demo.jobs.record", every="1 minute", unique_key="feed")
    assert job.unique_key == "feed"
    holder = schedule_job("1h", SAY, unique_key="feed")
    RecurringJob.objects.filter(pk=job.pk).update(next_slot=timezone.now())
    assert engine.make_occurrences() == 0
    job.refresh_from_db()
    assert job.next_slot > timezone.now() and job.last_slot is None  # the slot passed
    assert not ScheduledJob.objects.filter(recurring=job).exists()
    with pytest.raises(JobAlreadyScheduled):
        engine.run_now(job)
    holder.cancel()
    RecurringJob.objects.filter(pk=job.pk).update(next_slot=timezone.now())
    assert engine.make_occurrences() == 1
    [made] = ScheduledJob.objects.filter(recurring=job)
    assert made.unique_key == "feed"


def test_recurring_refuses_a_bad_key_and_saves_nothing():
    with pytest.raises(InvalidOption, match="unique_key must not be empty"):
        recurring("bad key", "proj.demo.jobs.record", every="1 minute", unique_key="")
    assert not RecurringJob.objects.exists()


def test_the_admin_shows_and_finds_jobs_by_their_key(admin_client):
    job = schedule_job("1h", SAY, unique_key="invoice-42")
    other = schedule_job("1h", SAY)
    changelist = "/admin/future_celery/scheduledjob/"
    found = admin_client.get(changelist, {"q": "invoice-42"})
    assert [j.pk for j in found.context["cl"].result_list] == [job.pk]
    assert "key invoice-42" in found.content.decode()
    keyed = admin_client.get(changelist, {"unique_key__isempty": "0"})
    assert [j.pk for j in keyed.context["cl"].result_list] == [job.pk]
    unkeyed = admin_client.get(changelist, {"unique_key__isempty": "1"})
    assert [j.pk for j in unkeyed.context["cl"].result_list] == [other.pk]
    page = admin_client.get(f"{changelist}{job.pk}/change/").content.decode()
    assert "Unique key" in page and "invoice-42" in page
    assert "unique_key" in site._registry[ScheduledJob].get_readonly_fields(None, job)


def test_the_admins_run_again_copies_the_key_and_reports_it_taken(admin_client):
    pending = schedule_job("1h", SAY, unique_key="again")
    ended = schedule_job("1h", SAY, unique_key="ended")
    ScheduledJob.objects.filter(pk=ended.pk).update(status=ScheduledJob.STATUS_COMPLETE)
    response = admin_client.post(
        "/admin/future_celery/scheduledjob/",
        {"action": "run_again", "_selected_action": [pending.pk, ended.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert f"Job #{pending.pk} was not copied: unique_key &#x27;again&#x27; is held" in page
    assert with_key("again") == [pending]
    [_, copy] = with_key("ended")
    assert copy.rescheduled_from_id == ended.pk and copy.status == "scheduled"


def test_the_admins_run_now_reports_a_taken_key(admin_client):
    job = recurring("run keyed", "proj.demo.jobs.record", every="1 day", unique_key="r")
    schedule_job("1h", SAY, unique_key="r")
    response = admin_client.post(
        "/admin/future_celery/recurringjob/",
        {"action": "run_now", "_selected_action": [job.pk]},
        follow=True,
    )
    assert "was not run: unique_key &#x27;r&#x27; is held" in response.content.decode()
    assert not ScheduledJob.objects.filter(recurring=job).exists()


# Concurrent callers: each thread its own database connection, all inserting the same key at
# once, each in a transaction that stays open until all have sent their INSERT.


def race(count: int, on_conflict: str) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def caller(index: int) -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                results[index] = schedule_job(
                    "1h", SAY, args=[index], unique_key="raced", on_conflict=on_conflict
                )
                # Hold the transaction open a moment: the others' INSERTs wait on it.
                threading.Event().wait(0.2)
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_on_postgresql_make_exactly_one_job():
    results = race(8, "raise")
    [winner] = [r for r in results if isinstance(r, ScheduledJob)]
    refused = [r for r in results if isinstance(r, JobAlreadyScheduled)]
    assert len(refused) == 7 and {r.job_id for r in refused} == {winner.pk}
    assert [job.pk for job in with_key("raced")] == [winner.pk]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_on_postgresql_asking_for_the_existing_job_all_get_it():
    results = race(8, "existing")
    assert all(isinstance(r, ScheduledJob) for r in results), results
    assert {r.pk for r in results} == {job.pk for job in with_key("raced")}
    assert len(with_key("raced")) == 1


@pytest.mark.mysql
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_on_mysql_make_exactly_one_job():
    results = race(6, "raise")
    [winner] = [r for r in results if isinstance(r, ScheduledJob)]
    refused = [r for r in results if isinstance(r, JobAlreadyScheduled)]
    assert len(refused) == 5 and {r.job_id for r in refused} == {winner.pk}
    assert [job.pk for job in with_key("raced")] == [winner.pk]


@pytest.mark.mysql
def test_mysql_holds_the_rule_with_a_generated_column_and_its_unique_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT non_unique FROM information_schema.statistics WHERE table_schema = "
            "DATABASE() AND index_name = %s AND column_name = %s",
            [unique_jobs.MYSQL_INDEX, unique_jobs.MYSQL_COLUMN],
        )
        assert cursor.fetchall() == ((0,),)
    job = schedule_job("1h", SAY, unique_key="k")
    ScheduledJob.objects.filter(pk=job.pk).update(status=ScheduledJob.STATUS_RUNNING)
    with pytest.raises(JobAlreadyScheduled):
        schedule_job("1h", SAY, unique_key="k")
    ScheduledJob.objects.filter(pk=job.pk).update(status=ScheduledJob.STATUS_FAILED)
    schedule_job("1h", SAY, unique_key="k")

"""Recurring jobs: each occurrence an ordinary ScheduledJob row made by the tick, one per
slot, with catch-up and overlap policies; recurring() and @periodic; the admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from future_celery import (
    ScheduledJob,
    dispatch,
    lifecycle,
    periodic,
    recurrence,
    recurring,
    run_jobs,
)
from future_celery import recurring_jobs as engine
from future_celery.exceptions import (
    ArgumentNotSerializable,
    CallableNotAllowed,
    CallableNotFound,
    FutureCeleryError,
    InvalidOption,
)
from future_celery.models import RecurringJob
from proj.demo.models import Execution

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


def occurrences(job: RecurringJob) -> list[ScheduledJob]:
    return list(ScheduledJob.objects.filter(recurring=job).order_by("slot"))


def due_now(job: RecurringJob, ago: float = 0) -> RecurringJob:
    """Move ``job``'s next slot to its last slot ``ago`` seconds ago or before (what beat
    being down leaves)."""
    rule = engine.rule_of(job)
    target = timezone.now() - dt.timedelta(seconds=ago)
    slot = recurrence.next_slot(rule, target - recurrence.period(rule))
    RecurringJob.objects.filter(pk=job.pk).update(next_slot=slot)
    job.refresh_from_db()
    return job


def test_recurring_creates_a_job_whose_next_slot_follows_its_schedule():
    job = recurring(
        "ten minutes",
        "proj.demo.jobs.record",
        every="10 minutes",
        kwargs={"label": "ten"},
        description="a test job",
    )
    assert job.pk and job.active and job.source == "code"
    assert job.next_slot > timezone.now() and job.next_slot.minute % 10 == 0
    assert job.next_slot.second == 0 and job.kwargs == {"label": "ten"}


def test_recurring_is_idempotent_by_label_and_moves_the_slot_only_on_a_schedule_change():
    first = recurring("idem", "proj.demo.jobs.record", every="1 hour", kwargs={"label": "i"})
    again = recurring("idem", "proj.demo.jobs.record", every="1 hour", kwargs={"label": "i"})
    assert again.pk == first.pk and again.updated == first.updated
    assert RecurringJob.objects.count() == 1
    described = recurring(
        "idem",
        "proj.demo.jobs.record",
        every="1 hour",
        kwargs={"label": "i"},
        description="now described",
    )
    assert described.next_slot == first.next_slot and described.description == "now described"
    moved = recurring("idem", "proj.demo.jobs.record", every="10 seconds", kwargs={"label": "i"})
    assert moved.next_slot <= timezone.now() + dt.timedelta(seconds=10)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"every": "10 fortnights"}, FutureCeleryError),
        ({}, FutureCeleryError),  # no schedule
        ({"every": "1 hour", "cron": "0 * * * *"}, FutureCeleryError),
        ({"every": "1 hour", "catch_up": "sometimes"}, InvalidOption),
        ({"every": "1 hour", "overlap": "pile up"}, InvalidOption),
        ({"every": "1 hour", "priority": 300}, InvalidOption),
        ({"every": "1 hour", "expires_after": -1}, InvalidOption),
        ({"every": "1 hour", "kwargs": {"when": object()}}, ArgumentNotSerializable),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(options, error):
    with pytest.raises(error):
        recurring("bad", "proj.demo.jobs.record", **options)
    assert not RecurringJob.objects.exists()


def test_a_callable_that_does_not_resolve_or_is_not_allowed_is_refused(settings):
    with pytest.raises(CallableNotFound):
        recurring("missing", "proj.demo.jobs.nope", every="1 hour")
    settings.FUTURE_CELERY_ALLOWED_CALLABLES = ["proj.demo.jobs.add"]
    with pytest.raises(CallableNotAllowed):
        recurring("forbidden", "proj.demo.jobs.record", every="1 hour")
    assert not RecurringJob.objects.exists()


def test_the_tick_makes_the_occurrence_due_within_the_look_ahead_once():
    job = due_now(
        recurring("every minute", "proj.demo.jobs.record", every="1 minute", kwargs={"label": "m"})
    )
    slot = job.next_slot
    report = dispatch.tick()
    assert report.occurrences == 1
    [made] = occurrences(job)
    assert made.slot == slot and made.time_slot_start == slot
    assert made.time_slot_end == slot + dt.timedelta(minutes=1)  # expiry: one period
    assert made.kwargs == {"label": "m"} and made.verbose_name == "every minute"
    job.refresh_from_db()
    assert job.last_slot == slot and job.next_slot > slot
    assert dispatch.tick().occurrences == 0  # its previous occurrence has not finished
    assert len(occurrences(job)) == 1


def test_the_next_occurrence_is_made_once_the_previous_has_finished():
    job = due_now(
        recurring("chain", "proj.demo.jobs.record", every="2 seconds", kwargs={"label": "c"})
    )
    engine.make_occurrences()
    run_jobs()
    job.refresh_from_db()
    engine.make_occurrences(job.next_slot - dt.timedelta(seconds=1))
    made = occurrences(job)
    assert len(made) == 2 and made[1].slot == made[0].slot + dt.timedelta(seconds=2)


def test_a_slot_has_one_occurrence_whatever_makes_it_twice():
    job = due_now(
        recurring("twice", "proj.demo.jobs.record", every="1 hour", kwargs={"label": "t"})
    )
    slot = job.next_slot
    engine.make_occurrences()
    lifecycle.cancel(occurrences(job)[0])  # finished: the tick may make the next one
    RecurringJob.objects.filter(pk=job.pk).update(next_slot=slot)  # as if the move were lost
    engine.make_occurrences()
    assert [o.slot for o in occurrences(job)] == [slot]  # the constraint kept it to one


@pytest.mark.parametrize(
    ("catch_up", "expected"), [("latest", "the latest"), ("all", "the first"), ("none", None)]
)
def test_slots_missed_for_an_hour_follow_the_catch_up_policy(catch_up, expected):
    job = recurring(
        "missed",
        "proj.demo.jobs.record",
        every="10 minutes",
        kwargs={"label": "x"},
        catch_up=catch_up,
    )
    job = due_now(job, ago=3600)  # beat was down for an hour
    first_missed = job.next_slot
    now = timezone.now()
    engine.make_occurrences(now)
    made = occurrences(job)
    if expected is None:  # none: nothing for the missed slots; the next is in the future
        assert made == [] or made[0].slot > now - dt.timedelta(seconds=5)
        job.refresh_from_db()
        assert job.next_slot > now - dt.timedelta(seconds=5)
    elif expected == "the first":  # all: each in turn, the first now
        assert [o.slot for o in made] == [first_missed]
    else:  # latest: once, for the latest missed slot
        assert len(made) == 1 and now - dt.timedelta(minutes=10) < made[0].slot <= now


def test_with_overlap_wait_a_running_previous_delays_the_next_and_with_skip_skips_it():
    wait = due_now(
        recurring("slow wait", "proj.demo.jobs.record", every="1 minute", kwargs={"label": "w"})
    )
    skip = due_now(
        recurring(
            "slow skip",
            "proj.demo.jobs.record",
            every="1 minute",
            kwargs={"label": "s"},
            overlap="skip",
        )
    )
    engine.make_occurrences()
    for job in (wait, skip):
        assert lifecycle.start_in_process(occurrences(job)[0], worker="slow")  # still running
        RecurringJob.objects.filter(pk=job.pk).update(next_slot=timezone.now())
    engine.make_occurrences()
    wait.refresh_from_db(), skip.refresh_from_db()
    assert len(occurrences(wait)) == 1 and wait.next_slot <= timezone.now()  # waits
    assert len(occurrences(skip)) == 1 and skip.next_slot > timezone.now()  # skipped


def test_the_tick_costs_one_query_with_10000_recurring_jobs_none_due():
    far = timezone.now() + dt.timedelta(days=1)
    RecurringJob.objects.bulk_create(
        RecurringJob(
            label=f"r{i}", callable_name="proj.demo.jobs.record", every="1 day", next_slot=far
        )
        for i in range(10_000)
    )
    with CaptureQueriesContext(connection) as queries:
        assert engine.make_occurrences() == 0
    selects = [
        q["sql"] for q in queries.captured_queries if "future_celery_recurringjob" in q["sql"]
    ]
    assert len(selects) == 1, selects


def test_a_disabled_job_makes_nothing_and_enabled_again_runs_from_its_next_slot():
    job = due_now(
        recurring("toggle", "proj.demo.jobs.record", every="1 minute", kwargs={"label": "t"}),
        ago=600,
    )
    engine.set_active(job, False)
    assert engine.make_occurrences() == 0
    engine.set_active(job, True)
    job.refresh_from_db()
    assert job.next_slot > timezone.now()  # the ten missed minutes are not caught up


def test_run_now_makes_an_extra_occurrence_due_now():
    job = recurring("on demand", "proj.demo.jobs.record", every="1 day", kwargs={"label": "d"})
    extra = engine.run_now(job)
    assert extra.recurring_id == job.pk and extra.time_slot_start <= timezone.now()
    run_jobs()
    assert Execution.objects.filter(label="d").count() == 1


def test_pass_pk_gives_the_callable_the_recurring_jobs_pk():
    job = due_now(
        recurring("with pk", "proj.demo.jobs.echo", every="1 hour", pass_pk=True, kwargs={"a": 1})
    )
    engine.make_occurrences()
    assert occurrences(job)[0].kwargs == {"a": 1, "pk": job.pk}


def test_periodic_functions_are_saved_by_sync_periodic():
    from proj.demo import jobs

    assert periodic(every="5 minutes", label="demo periodic")(jobs.say_hello) is jobs.say_hello
    try:
        [job] = [j for j in engine.sync_periodic() if j.label == "demo periodic"]
    finally:
        engine._periodic.pop("demo periodic")
    assert job.callable_name == "proj.demo.jobs.say_hello" and job.source == "code"
    assert job.next_slot.minute % 5 == 0


def test_periodic_checks_its_schedule_at_once():
    with pytest.raises(FutureCeleryError):
        periodic(every="often")


def test_the_admin_lists_recurring_jobs_and_their_last_runs(admin_client):
    job = due_now(
        recurring("listed", "proj.demo.jobs.record", every="1 hour", kwargs={"label": "l"})
    )
    engine.make_occurrences()
    page = admin_client.get("/admin/future_celery/recurringjob/").content.decode()
    assert "listed" in page and "every hour" in page  # recurrence.describe()
    assert f"/admin/future_celery/scheduledjob/{occurrences(job)[0].pk}/change/" in page
    runs = admin_client.get(f"/admin/future_celery/scheduledjob/?recurring__exact={job.pk}")
    assert runs.status_code == 200


def test_the_admin_changes_only_active_of_a_job_defined_in_code(admin_client):
    job = recurring("code job", "proj.demo.jobs.record", every="1 hour", kwargs={"label": "c"})
    url = f"/admin/future_celery/recurringjob/{job.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert 'name="active"' in page and 'name="every"' not in page
    assert 'name="callable_name"' not in page
    response = admin_client.post(url, {"active": ""})  # unticked
    assert response.status_code == 302
    job.refresh_from_db()
    assert not job.active


def test_the_admin_actions_enable_disable_and_run_now(admin_client):
    job = recurring("acted on", "proj.demo.jobs.record", every="1 day", kwargs={"label": "a"})
    changelist = "/admin/future_celery/recurringjob/"
    admin_client.post(changelist, {"action": "disable", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert not job.active
    admin_client.post(changelist, {"action": "enable", "_selected_action": [job.pk]})
    admin_client.post(changelist, {"action": "run_now", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert job.active and len(occurrences(job)) == 1
    assert not admin_client.get("/admin/future_celery/recurringjob/add/").status_code == 200

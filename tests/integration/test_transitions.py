"""The status changes the database sees when each transition of future_celery.lifecycle runs
are exactly those TRANSITIONS lists for it: none missing, none more."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, lifecycle, schedule_job
from tests import transitions

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_on_commit(settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


def due(**options) -> ScheduledJob:
    return schedule_job(
        timezone.now() - dt.timedelta(seconds=1), "proj.demo.jobs.say_hello", **options
    )


def queued(**options) -> tuple[ScheduledJob, str]:
    job = due(**options)
    now = timezone.now()
    [row] = lifecycle.queue_due(now, now, [job.pk])
    job.refresh_from_db()
    return job, row[-1]


def running(**options) -> ScheduledJob:
    job = due(**options)
    assert lifecycle.start_in_process(job, worker="w:1")
    return job


def test_each_transition_changes_the_status_as_listed_and_nothing_else(no_on_commit, redis_broker):
    transitions.install()
    observed: set[lifecycle.Transition] = set()

    def watch(name, *args):
        """Call lifecycle.<name>(*args) and record the status changes the database saw."""
        transitions.clear()
        getattr(lifecycle, name)(*args)
        observed.update(lifecycle.Transition(*pair, name) for pair in transitions.seen())

    now = timezone.now()
    job = due()
    watch("queue_due", now, now, [job.pk])
    watch("unqueue", [ScheduledJob.objects.get(pk=job.pk).task_id])
    watch("start_in_process", due(), "w:1")
    watch("start_in_process", queued()[0], "w:1")
    watch("start_delivered", *_ids(), "w:1")
    watch("complete", running(), None)
    watch("complete_failed", running(), "a Result said it failed")
    watch("fail", running(max_attempts=2), "boom")  # retried
    watch("fail", running(), "boom")  # max_attempts 1: failed
    watch("lose", running(), "lost")  # retried
    lost_often = running()
    lost_often.lost = 3  # MAX_LOST: the next loss fails it
    watch("lose", lost_often, "lost")
    _overdue()
    watch("expire_overdue")
    _overdue_queued()
    watch("expire_overdue", None, True)
    watch("expire_delivered", *_overdue_queued())
    watch("cancel", due())
    watch("cancel", queued()[0])
    watch("cancel_delivered", *_ids())
    watch("fail_unsent", *_ids(), "the broker could not take its message")
    # These change a row without changing its status.
    watch("take_for_resend", ScheduledJob.objects.filter(pk=queued()[0].pk), timezone.now())
    watch("edit_scheduled", due(), ["priority"])
    watch("stamp_heartbeats", [running().pk], timezone.now())

    assert observed == lifecycle.TRANSITIONS, (
        f"not listed: {observed - lifecycle.TRANSITIONS}; "
        f"listed, not seen: {lifecycle.TRANSITIONS - observed}"
    )


def test_the_log_sees_a_status_change_from_any_statement(no_on_commit):
    transitions.install()
    job = due()
    transitions.clear()
    ScheduledJob.objects.filter(pk=job.pk).update(status="complete")  # what no code may do
    assert transitions.seen() == {("scheduled", "complete")}
    assert not {("scheduled", "complete")} <= {(t.source, t.target) for t in lifecycle.TRANSITIONS}


def _ids() -> tuple[int, str]:
    job, task_id = queued()
    return job.pk, task_id


def _overdue() -> ScheduledJob:
    job = due(expires="1h")
    ScheduledJob.objects.filter(pk=job.pk).update(time_slot_end=timezone.now())
    return job


def _overdue_queued() -> tuple[int, str]:
    job, task_id = queued(expires="1h")
    ScheduledJob.objects.filter(pk=job.pk).update(time_slot_end=timezone.now())
    return job.pk, task_id

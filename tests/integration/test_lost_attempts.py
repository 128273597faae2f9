"""Attempts lost with their worker are retried without counting as the job's own failures, up
to FUTURE_CELERY_MAX_LOST; workers whose heartbeat stopped are found lost once."""

import datetime as dt

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, conf, lifecycle, schedule_job, workers
from future_celery.models import Worker

pytestmark = pytest.mark.django_db


def running(**options):
    job = schedule_job("1h", "proj.demo.jobs.say_hello", **options)
    assert lifecycle.start_in_process(job, worker="w@host:1")
    return job


def test_a_lost_attempt_runs_again_at_once_without_using_an_attempt():
    job = running()  # max_attempts 1
    assert lifecycle.lose(job, "Worker lost: gone")
    job.refresh_from_db()
    assert job.status == "scheduled" and job.lost == 1 and job.attempts == 1
    assert job.time_slot_start <= timezone.now()
    assert "Worker lost: gone" in job.error and f"lost 1 of {conf.get('MAX_LOST')}" in job.error


def test_lost_once_more_than_max_lost_the_job_fails_with_a_clear_error(settings):
    settings.FUTURE_CELERY_MAX_LOST = 2
    job = running()
    for lost in (1, 2, 3):
        assert lifecycle.lose(job, "Worker lost")
        job.refresh_from_db()
        assert job.lost == lost
        if lost <= 2:
            assert job.status == "scheduled"
            assert lifecycle.start_in_process(job, worker="w@host:1")
    assert job.status == "failed" and job.attempts == 3
    assert "lost with their worker 3 times (FUTURE_CELERY_MAX_LOST = 2)" in job.error


def test_max_lost_zero_fails_the_first_lost_attempt(settings):
    settings.FUTURE_CELERY_MAX_LOST = 0
    job = running()
    lifecycle.lose(job, "Worker lost")
    job.refresh_from_db()
    assert job.status == "failed" and job.lost == 1


def test_own_failures_still_count_against_max_attempts_after_a_lost_attempt():
    job = running(max_attempts=2)
    lifecycle.lose(job, "Worker lost")
    job.refresh_from_db()
    assert lifecycle.start_in_process(job, worker="w@host:1")
    lifecycle.fail(job, "ValueError: first own failure")
    job.refresh_from_db()
    assert job.status == "scheduled" and job.attempts == 2  # 1 own failure of 2 allowed
    assert lifecycle.start_in_process(job, worker="w@host:1")
    lifecycle.fail(job, "ValueError: second own failure")
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 3 and job.lost == 1


def test_a_lost_attempt_past_the_expiry_fails():
    job = running(expires="1s")
    ScheduledJob.objects.filter(pk=job.pk).update(time_slot_end=timezone.now())
    job.refresh_from_db()
    lifecycle.lose(job, "Worker lost")
    job.refresh_from_db()
    assert job.status == "failed"


def test_a_stopped_heartbeat_is_recovered_as_lost():
    job = running()
    old = timezone.now() - dt.timedelta(seconds=conf.get("HEARTBEAT_TIMEOUT") + 1)
    ScheduledJob.objects.filter(pk=job.pk).update(heartbeat=old)
    assert lifecycle.recover_lost() == 1
    job.refresh_from_db()
    assert job.status == "scheduled" and job.lost == 1 and "stopped sending heartbeats" in job.error


def test_workers_whose_heartbeat_stopped_are_found_lost_once():
    now = timezone.now()
    stale = now - dt.timedelta(seconds=conf.get("HEARTBEAT_TIMEOUT") + 1)
    dead = Worker.objects.create(name="dead@host", pid=1, started=stale, last_seen=stale)
    Worker.objects.create(name="alive@host", pid=2, started=stale, last_seen=now)
    found = workers.find_lost(now)
    assert [(w.name, w.pid) for w in found] == [("dead@host", 1)]
    assert Worker.objects.get(pk=dead.pk).lost_at == now
    assert workers.find_lost(now + dt.timedelta(seconds=1)) == []


def test_rows_of_workers_lost_long_ago_are_removed_when_another_is_found():
    now = timezone.now()
    long_ago = now - workers.KEEP_LOST - dt.timedelta(hours=1)
    Worker.objects.create(
        name="old@host", pid=1, started=long_ago, last_seen=long_ago, lost_at=long_ago
    )
    Worker.objects.create(name="dead@host", pid=2, started=long_ago, last_seen=long_ago)
    workers.find_lost(now)
    assert list(Worker.objects.values_list("name", flat=True)) == ["dead@host"]


@pytest.mark.engine
@pytest.mark.django_db(transaction=True)
def test_the_tick_sends_again_the_messages_a_lost_worker_may_have_held(redis_broker):
    now = timezone.now()
    last_seen = now - dt.timedelta(seconds=conf.get("HEARTBEAT_TIMEOUT") + 1)
    Worker.objects.create(name="dead@host", pid=1, started=last_seen, last_seen=last_seen)
    held = schedule_job("1h", "proj.demo.jobs.say_hello")
    after = schedule_job("1h", "proj.demo.jobs.say_hello")
    ScheduledJob.objects.filter(pk=held.pk).update(
        status="queued", task_id="fc-held", dispatches=1, queued_at=last_seen
    )
    ScheduledJob.objects.filter(pk=after.pk).update(  # sent after it had died
        status="queued", task_id="fc-after", dispatches=1, queued_at=now
    )
    from future_celery import dispatch

    assert dispatch.resend_for_lost_workers(now) == 1
    held.refresh_from_db(), after.refresh_from_db()
    assert (held.dispatches, held.task_id, held.queued_at) == (2, "fc-held", now)
    assert after.dispatches == 1
    assert dispatch.resend_for_lost_workers(now) == 0  # found once

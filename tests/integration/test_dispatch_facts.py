"""Every final state keeps the Celery task id and the dispatch facts of the job's last
attempt, so that the rows a person needs to find in Flower and the worker log keep the link."""

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job
from future_celery.tasks import run_job
from tests.processes import wait_until

pytestmark = pytest.mark.engine


def final(job, timeout=20.0):
    assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).is_finished, timeout)
    job.refresh_from_db()
    return job


def assert_sent_once(job):
    assert job.task_id.startswith(f"fc-{job.pk}-"), job.task_id
    assert job.queued_at is not None and job.dispatches == 1, (job.queued_at, job.dispatches)


def test_a_complete_job_keeps_its_message_link(worker):
    job = final(schedule_job("0s", "proj.demo.jobs.say_hello"))
    assert job.status == "complete"
    assert_sent_once(job)


def test_a_failed_job_keeps_its_message_link(worker):
    job = final(schedule_job("0s", "proj.demo.jobs.boom"))
    assert job.status == "failed" and "ValueError: boom" in job.error
    assert_sent_once(job)


def test_a_retried_job_records_the_message_of_its_last_attempt(worker):
    job = schedule_job("0s", "proj.demo.jobs.boom", max_attempts=2)
    assert wait_until(
        lambda: (
            ScheduledJob.objects.get(pk=job.pk).attempts == 1
            and ScheduledJob.objects.get(pk=job.pk).status == "scheduled"
        ),
        20,
    )
    job.refresh_from_db()
    first_task_id = job.task_id
    assert_sent_once(job)  # between attempts it still names the first attempt's message
    from future_celery import dispatch

    assert wait_until(
        lambda: ScheduledJob.objects.get(pk=job.pk).is_finished, 30, action=dispatch.tick
    )
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 2
    assert_sent_once(job)
    assert job.task_id != first_task_id


def test_an_expired_job_keeps_its_message_link(worker):
    # Its message goes to a queue no worker reads; once its expiry has passed, a copy of the
    # message reaches the worker, whose claim finds the job expired.
    job = schedule_job(timezone.now(), "proj.demo.jobs.say_hello", expires="1s", queue="nobody")
    job.refresh_from_db()
    assert wait_until(lambda: job.time_slot_end < timezone.now(), 5)
    run_job.apply_async(args=[job.pk], task_id=job.task_id)
    job = final(job)
    assert job.status == "expired"
    assert_sent_once(job)


def test_a_cancelled_queued_job_keeps_its_message_link(worker):
    job = schedule_job("2s", "proj.demo.jobs.say_hello")
    job.cancel()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert_sent_once(job)

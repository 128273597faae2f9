"""A job that calls exit() on a real Celery worker: its failure is recorded with its
traceback, as any other, and the pool process that ran it lives on to run the next job
(Celery's trace lets SystemExit through; billiard would end the pool process on it)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job
from future_celery.tasks_api import TaskResultStatus, default_task_backend
from tests.conftest import base_env
from tests.processes import start_worker, wait_until
from tests.runner_jobs import exiting_task

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def one_pool_process(redis_broker, transactional_db):
    """A worker with a single pool process, on the tests' Redis."""
    redis_broker.purge()
    worker = start_worker(base_env(), concurrency=1)
    yield worker
    worker.stop()


def finished(job: ScheduledJob) -> bool:
    job.refresh_from_db()
    return job.status in ScheduledJob.FINAL_STATUSES


def test_a_job_that_calls_exit_fails_with_its_traceback_and_its_pool_process_runs_the_next(
    one_pool_process,
):
    soon = timezone.now() + dt.timedelta(seconds=1)
    exiting = schedule_job(soon, "tests.runner_jobs.exit_with", args=[4])
    task = exiting_task.enqueue(5)
    after = schedule_job(soon + dt.timedelta(seconds=1), "proj.demo.jobs.say_hello")
    jobs = [exiting, ScheduledJob.objects.get(pk=int(task.id)), after]
    assert wait_until(lambda: all(finished(job) for job in jobs), 60), one_pool_process.output
    assert exiting.status == "failed" and exiting.attempts == 1 and exiting.lost == 0
    assert "Traceback (most recent call last)" in exiting.error
    assert exiting.error.rstrip().endswith("SystemExit: 4"), exiting.error
    assert after.status == "complete" and after.return_value == "Hello, world!"
    # One pool process ran all three: exit() did not end it.
    assert len({job.worker_pid for job in jobs}) == 1, [job.worker_pid for job in jobs]
    result = default_task_backend.get_result(task.id)
    assert result.status == TaskResultStatus.FAILED
    assert [error.exception_class for error in result.errors] == [SystemExit]
    assert one_pool_process.popen.poll() is None

"""``async def`` callables through every front door (schedule_job, @job_as_parameter,
@background, recurring jobs; Django tasks: tests/integration/test_tasks_backend.py), run to
their end by the in-process runners (run_jobs, process_tasks), with the job's transaction
promise: a write through Django's async ORM commits with the completion and rolls back with
a failure; one made on another thread is not the job's. (On a Celery worker, and with the
runners' commands: tests/acceptance/test_async_jobs_on_celery.py.)"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, callables, recurring, run_jobs, runner, schedule_job
from proj.demo.models import Note
from tests import async_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(settings):
    """The runners run the jobs: nothing is handed to a broker after a commit."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


def ran(job: ScheduledJob) -> ScheduledJob:
    job.refresh_from_db()
    return job


def test_schedule_job_runs_an_async_function_to_its_end():
    job = schedule_job(timezone.now(), async_jobs.add, args=[2, 3])
    assert run_jobs().completed == [job.pk]
    assert (ran(job).status, job.return_value) == ("complete", "5")


def test_a_dotted_path_to_an_async_function_runs_too():
    job = schedule_job(timezone.now(), "tests.async_jobs.add", kwargs={"a": 1, "b": 1})
    run_jobs()
    assert ran(job).return_value == "2"


def test_job_as_parameter_passes_the_job_to_an_async_function():
    job = schedule_job(timezone.now(), async_jobs.report_job, args=["here"])
    run_jobs()
    assert ran(job).return_value == f"here: job #{job.pk}, attempt 1"


def test_a_function_that_returns_a_coroutine_has_it_awaited():
    job = schedule_job(timezone.now(), async_jobs.returns_a_coroutine, args=["wrapped"])
    run_jobs()
    assert ran(job).status == "complete" and "coroutine" not in job.return_value
    assert Note.objects.filter(title="wrapped").exists()


def test_background_runs_an_async_function():
    job = async_jobs.background_note("from @background")
    assert job.callable_name == "tests.async_jobs.background_note"
    assert run_jobs().completed == [job.pk]
    assert ran(job).return_value == "from @background"
    assert Note.objects.filter(title="from @background").exists()


def test_process_tasks_runs_async_jobs():
    jobs = [
        async_jobs.background_note("processed"),
        schedule_job(timezone.now(), async_jobs.add, args=[20, 22]),
    ]
    runner.process(duration=0.5, sleep=0.05)
    assert [ran(job).status for job in jobs] == ["complete", "complete"]
    assert jobs[1].return_value == "42"


def test_a_recurring_jobs_occurrence_runs_an_async_function():
    definition = recurring("async sum", async_jobs.add, every="1 hour", kwargs={"a": 3, "b": 4})
    run_jobs(now=definition.next_slot + dt.timedelta(seconds=1))
    (occurrence,) = ScheduledJob.objects.filter(recurring=definition)
    assert (occurrence.status, occurrence.return_value) == ("complete", "7")


# The transaction promise (the job's transaction commits: transactional tests)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("runs", ["run_jobs", "process_tasks"])
def test_an_async_orm_write_commits_with_the_completion_inside_its_transaction(runs):
    job = schedule_job(timezone.now(), async_jobs.write_note, args=[f"kept by {runs}"])
    if runs == "run_jobs":
        run_jobs()
    else:
        runner.process(duration=0.5, sleep=0.05)
    assert ran(job).status == "complete"
    # The write ran in this process's thread, inside the job's transaction.
    assert job.return_value == str({"in_transaction": True, "pid": os.getpid()})
    assert Note.objects.filter(title=f"kept by {runs}").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("runs", ["run_jobs", "process_tasks"])
def test_an_async_job_that_fails_rolls_its_orm_writes_back(runs):
    failing = schedule_job(
        timezone.now(), async_jobs.write_note, args=[f"undone by {runs}"], kwargs={"fail": True}
    )
    if runs == "run_jobs":
        assert run_jobs(ignore_errors=True).failed == [failing.pk]
    else:
        runner.process(duration=0.5, sleep=0.05)
    assert ran(failing).status == "failed"
    assert failing.error.rstrip().endswith(
        f"AsyncJobFailure: undone by {runs} failed after its write"
    )
    assert not Note.objects.filter(title=f"undone by {runs}").exists()


@pytest.mark.postgresql  # SQLite: the job's transaction holds the one write lock (README)
@pytest.mark.django_db(transaction=True)
def test_a_write_made_on_another_thread_is_not_the_jobs_and_stays():
    """What differs for async jobs (README): a write the coroutine hands to another thread
    (sync_to_async(thread_sensitive=False)) uses that thread's connection, in autocommit:
    it commits at once, and the job's failure does not roll it back."""
    job = schedule_job(timezone.now(), async_jobs.write_note_on_another_thread, args=["away"])
    run_jobs(ignore_errors=True)
    assert ran(job).status == "failed"
    assert Note.objects.filter(title="away").exists()


@pytest.mark.django_db(transaction=True)
def test_an_exception_raised_in_the_jobs_thread_stops_the_coroutine():
    """What a worker's soft time limit does (Celery raises it in the thread that runs the
    job, here a timer's signal): the job fails at once, and its coroutine, which runs in
    its loop's thread, is cancelled instead of running on after its job was failed."""

    def time_is_up(signum, frame):
        raise TimeoutError("soft time limit")

    previous = signal.signal(signal.SIGALRM, time_is_up)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(TimeoutError):
            callables.invoke(async_jobs.sleep_then_write, ["after its end", 1.0], {})
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    time.sleep(1.5)  # past the moment it would have written
    assert not Note.objects.filter(title="after its end").exists()

"""What every in-process runner (run_jobs / runscheduledjobs, process_tasks) promises beside
the Celery side, in one process: due jobs in priority order, a locked row skipped and never
waited on, running jobs whose heartbeat stopped taken back by the tick's rule, and a job that
calls exit() recorded as failed while the run goes on. (With real processes killed, and a
database connection cut: tests/acceptance/test_process_tasks.py.)"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connection, transaction
from django.utils import timezone

from future_celery import ScheduledJob, run_jobs, runner, schedule_job
from future_celery.exceptions import JobExited
from future_celery.tasks_api import TaskResultStatus, task_finished
from proj.demo.models import Execution
from tests.runner_jobs import exiting_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(settings):
    """The runner runs the jobs: nothing is handed to a broker after a commit."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


def past(seconds: float = 60) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


def record(label: str, ago: float, **options) -> ScheduledJob:
    return schedule_job(past(ago), "proj.demo.jobs.record", args=[label], **options)


def labels_in_run_order() -> list[str]:
    return list(Execution.objects.order_by("started", "id").values_list("label", flat=True))


# Priority order (item 8)

PRIORITIES = [  # label, seconds ago, priority (None counts as 0)
    ("low-oldest", 60, 1),
    ("high-newer", 10, 9),
    ("none", 50, None),
    ("high-older", 20, 9),
    ("middle", 30, 5),
]


def test_run_jobs_runs_higher_priorities_first_then_the_oldest_first():
    for label, ago, priority in PRIORITIES:
        record(label, ago, priority=priority)
    run_jobs()
    assert labels_in_run_order() == ["high-older", "high-newer", "middle", "low-oldest", "none"]


def test_run_jobs_follows_priority_ordering_asc_too(settings):
    settings.FUTURE_CELERY_PRIORITY_ORDERING = "ASC"
    for label, ago, priority in PRIORITIES:
        record(label, ago, priority=priority)
    run_jobs()
    assert labels_in_run_order() == ["none", "low-oldest", "middle", "high-older", "high-newer"]


def test_scheduled_and_queued_jobs_run_in_one_priority_order():
    for label, ago, priority, status in [
        ("queued-low", 30, 1, "queued"),
        ("scheduled-high", 10, 8, "scheduled"),
        ("queued-high", 20, 9, "queued"),
    ]:
        job = record(label, ago, priority=priority)
        ScheduledJob.objects.filter(pk=job.pk).update(status=status)
    run_jobs()
    assert labels_in_run_order() == ["queued-high", "scheduled-high", "queued-low"]


def test_a_bad_priority_ordering_is_refused_clearly_before_any_job_runs(settings):
    settings.FUTURE_CELERY_PRIORITY_ORDERING = "HIGHEST"
    job = record("never", 10)
    with pytest.raises(ValueError, match="PRIORITY_ORDERING must be 'ASC' or 'DESC'"):
        run_jobs()
    job.refresh_from_db()
    assert job.status == ScheduledJob.STATUS_SCHEDULED and not Execution.objects.exists()


# Locked rows (item 7)


@contextlib.contextmanager
def row_locked(job_id: int, hold: float = 15.0) -> Iterator[None]:
    """Job ``job_id``'s row held by SELECT ... FOR UPDATE in another connection (a thread's)
    for the block, or ``hold`` seconds at most."""
    held, release = threading.Event(), threading.Event()

    def hold_it() -> None:
        try:
            with transaction.atomic():
                ScheduledJob.objects.select_for_update().get(pk=job_id)
                held.set()
                release.wait(hold)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_it)
    thread.start()
    assert held.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join()


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_run_jobs_skips_a_row_another_transaction_holds_and_runs_the_other_due_jobs():
    locked = record("locked", 30)
    first, second = record("first", 20), record("second", 10)
    with row_locked(locked.pk):
        started = time.monotonic()
        report = run_jobs()
        took = time.monotonic() - started
    assert took < 5, f"run_jobs() waited {took:.1f}s on the locked row"
    assert report.completed == [first.pk, second.pk] and report.failed == []
    locked.refresh_from_db()
    assert locked.status == ScheduledJob.STATUS_SCHEDULED and locked.attempts == 0
    assert run_jobs().completed == [locked.pk]  # once free, it runs
    assert labels_in_run_order() == ["first", "second", "locked"]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_process_tasks_skips_a_locked_row_without_waiting_and_runs_it_once_free():
    locked = record("locked", 30)
    other = record("other", 10)
    with row_locked(locked.pk):
        started = time.monotonic()
        report = runner.process(duration=1.5, sleep=0.1)
        took = time.monotonic() - started
    assert took < 5, f"process_tasks waited {took:.1f}s on the locked row"
    assert report.completed == [other.pk]
    assert ScheduledJob.objects.get(pk=locked.pk).status == ScheduledJob.STATUS_SCHEDULED
    assert runner.process(duration=1, sleep=0.1).completed == [locked.pk]


# Running jobs whose heartbeat stopped (item B)


def left_running(job: ScheduledJob, heartbeat_age: float) -> None:
    """The row as a runner killed mid-job leaves it: running, its heartbeat ``heartbeat_age``
    seconds old."""
    ScheduledJob.objects.filter(pk=job.pk).update(
        status="running",
        attempts=1,
        execution_start=past(heartbeat_age + 1),
        heartbeat=past(heartbeat_age),
        worker="process_tasks@gone",
        worker_pid=1,
    )


def test_run_jobs_takes_back_a_running_job_whose_heartbeat_stopped_and_runs_it(settings):
    job = record("again", 60)
    left_running(job, settings.FUTURE_CELERY_HEARTBEAT_TIMEOUT + 1)
    report = run_jobs()
    job.refresh_from_db()
    assert report.recovered == 1 and report.completed == [job.pk]
    assert job.status == ScheduledJob.STATUS_COMPLETE and (job.attempts, job.lost) == (2, 1)
    assert labels_in_run_order() == ["again"]


def test_process_tasks_takes_back_a_running_job_whose_heartbeat_stopped(settings):
    job = record("again", 60)
    left_running(job, settings.FUTURE_CELERY_HEARTBEAT_TIMEOUT + 1)
    report = runner.process(duration=1, sleep=0.1)
    job.refresh_from_db()
    assert report.recovered == 1 and report.completed == [job.pk]
    assert job.status == ScheduledJob.STATUS_COMPLETE and job.lost == 1


def test_a_running_job_whose_heartbeat_is_fresh_is_left_alone_whatever_now_is_asked():
    job = record("alive", 60)
    left_running(job, 0)
    report = run_jobs(now=timezone.now() + dt.timedelta(hours=2))
    job.refresh_from_db()
    assert report.recovered == 0 and job.status == ScheduledJob.STATUS_RUNNING
    assert not Execution.objects.exists()


# A job that calls exit() (item 4)


def test_a_job_that_calls_exit_is_failed_with_its_traceback_and_the_run_goes_on():
    exiting = schedule_job(past(20), "tests.runner_jobs.exit_with", args=[2])
    after = record("after", 10)
    report = run_jobs(ignore_errors=True)
    exiting.refresh_from_db()
    assert exiting.status == ScheduledJob.STATUS_FAILED
    assert "Traceback (most recent call last)" in exiting.error
    assert exiting.error.rstrip().endswith("SystemExit: 2")
    assert report.failed == [exiting.pk] and report.completed == [after.pk]
    assert labels_in_run_order() == ["after"]


def test_without_ignore_errors_exit_stops_the_run_as_job_exited_caused_by_it():
    exiting = schedule_job(past(20), "tests.runner_jobs.exit_with", args=[2])
    after = record("after", 10)
    with pytest.raises(JobExited, match=rf"job #{exiting.pk} \(tests.runner_jobs.exit_with\)"):
        try:
            run_jobs()
        except SystemExit:  # what escaped before: the calling program would end
            pytest.fail("SystemExit escaped run_jobs()")
    exiting.refresh_from_db(), after.refresh_from_db()
    assert exiting.status == ScheduledJob.STATUS_FAILED and "SystemExit: 2" in exiting.error
    assert after.status == ScheduledJob.STATUS_SCHEDULED


def test_the_command_reports_a_job_that_called_exit_and_goes_on_with_i(capsys):
    from django.core.management import call_command

    schedule_job(past(20), "tests.runner_jobs.exit_with", args=[5])
    record("after", 10)
    call_command("runscheduledjobs", "-i")
    assert "1 completed, 1 failed" in capsys.readouterr().out


def test_process_tasks_records_a_job_that_called_exit_and_goes_on():
    exiting = schedule_job(past(20), "tests.runner_jobs.exit_with")
    after = record("after", 10)
    report = runner.process(duration=1, sleep=0.1)
    assert report.failed == [exiting.pk] and report.completed == [after.pk]
    assert ScheduledJob.objects.get(pk=exiting.pk).error.rstrip().endswith("SystemExit: 1")


def test_a_django_task_that_calls_exit_fails_with_system_exit_and_sends_task_finished():
    finished = []

    def on_finished(sender, task_result, **kwargs):
        finished.append(task_result.status)

    task_finished.connect(on_finished, weak=False)
    try:
        result = exiting_task.enqueue(3)
        run_jobs(ignore_errors=True)
    finally:
        task_finished.disconnect(on_finished)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    (error,) = result.errors
    assert error.exception_class is SystemExit
    assert error.traceback.rstrip().endswith("SystemExit: 3")
    assert finished == [TaskResultStatus.FAILED]

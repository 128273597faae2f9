"""manage.py process_tasks, django-background-tasks' worker, as real processes: it polls,
runs the due jobs of its queue in priority order, stops after --duration or on SIGTERM
(finishing the job in progress), and runs beside other process_tasks and Celery workers
without running a job twice."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys
import time
import uuid

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job
from proj.demo import tasks
from proj.demo.models import Execution
from tests.conftest import base_env
from tests.faults import outcome, schedule_labelled
from tests.processes import ROOT, Process, start_worker, wait_until


@pytest.fixture
def no_celery_dispatch(settings):
    """Jobs go to no broker: process_tasks runs them."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


@pytest.fixture
def started(process_env):
    running: list[Process] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Process:
        process = Process(
            "process_tasks",
            [sys.executable, str(ROOT / "manage.py"), "process_tasks", *args],
            env or process_env,
        )
        running.append(process)
        return process

    yield start
    for process in running:
        process.stop()


def labels_in_run_order() -> list[str]:
    return list(Execution.objects.order_by("started", "id").values_list("label", flat=True))


@pytest.mark.django_db(transaction=True)
def test_it_runs_the_due_jobs_of_its_queue_in_priority_order_and_polls_for_new_ones(
    no_celery_dispatch, started
):
    past = timezone.now() - dt.timedelta(seconds=1)
    for label, priority in [("low", 1), ("high", 9), ("middle", 5)]:
        tasks.record_background(label, schedule=past, priority=priority)
    tasks.on_my_queue("elsewhere", schedule=past)
    worker = started("--sleep", "0.2", "--duration", "20")
    assert wait_until(lambda: Execution.objects.count() == 4, 20), worker.output
    assert labels_in_run_order()[:3] == ["high", "middle", "low"]  # DESC, as the seed

    queue_only = started("--queue", "my-queue", "--sleep", "0.2", "--duration", "20")
    tasks.record_background("not-mine", schedule=0)
    tasks.on_my_queue("mine", schedule=0)
    assert wait_until(lambda: Execution.objects.filter(label="mine").exists(), 20)
    assert queue_only.popen.poll() is None


@pytest.mark.django_db(transaction=True)
def test_it_stops_after_duration_and_finishes_the_job_in_progress_on_sigterm(
    no_celery_dispatch, started
):
    timed = started("--duration", "2", "--sleep", "0.2")
    assert timed.popen.wait(30) == 0, timed.output
    slow = schedule_job(
        timezone.now(), "proj.demo.jobs.record", args=["slow"], kwargs={"seconds": 3}
    )
    worker = started("--sleep", "0.2")
    assert wait_until(lambda: ScheduledJob.objects.get(pk=slow.pk).status == "running", 20)
    worker.popen.send_signal(signal.SIGTERM)
    assert worker.popen.wait(30) == 0, worker.output
    assert ScheduledJob.objects.get(pk=slow.pk).status == "complete"
    assert Execution.objects.filter(label="slow").count() == 1


@pytest.mark.django_db(transaction=True)
def test_log_std_sends_what_jobs_print_to_logging(no_celery_dispatch, caplog):
    schedule_job(timezone.now(), "proj.demo.jobs.shout", args=["printed by a job"])
    with caplog.at_level(logging.INFO, logger="future_celery.process_tasks"):
        call_command("process_tasks", "--log-std", "--sleep", "0.1", "--duration", "1")
    logged = [(r.name, r.getMessage()) for r in caplog.records]
    assert ("future_celery.process_tasks", "PRINTED BY A JOB") in logged
    assert sys.stdout is sys.__stdout__  # given back


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_process_tasks_and_a_celery_worker_run_each_job_once(started, broker, process_env):
    worker = start_worker(process_env)
    try:
        schedule_labelled("beside", 300, timezone.now() + dt.timedelta(seconds=1), spread=3)
        started("--sleep", "0.1")
        started("--sleep", "0.1")
        assert wait_until(lambda: outcome("beside")["lost"] == 0, 90, interval=0.5)
    finally:
        worker.stop()
    result = outcome("beside")
    assert result["executions"] == 300 and result["duplicates"] == 0, result
    runners = set(
        ScheduledJob.objects.filter(args__0__startswith="beside-").values_list("worker", flat=True)
    )
    assert "process_tasks" in {name.split("@")[0] for name in runners}, runners


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True)
def test_on_sqlite_a_second_process_tasks_is_refused_clearly(no_celery_dispatch, started):
    assert connection.vendor == "sqlite"
    first = started("--sleep", "0.2")
    first.wait_for_output("process_tasks: running due jobs", 30)
    second = started("--sleep", "0.2", "--duration", "2")
    assert second.popen.wait(30) != 0
    assert "another" in second.output and "runner is active" in second.output


def status_of(job: ScheduledJob) -> str:
    return ScheduledJob.objects.get(pk=job.pk).status


def kill_mid_job(started, env: dict[str, str] | None = None) -> tuple[ScheduledJob, float]:
    """A process_tasks killed with SIGKILL while it runs a job (the job's first attempt
    stalls); the job, and the time of the kill (time.monotonic())."""
    job = schedule_job(
        timezone.now(),
        "proj.demo.jobs.stall_first_attempt",
        args=["stalled"],
        kwargs={"seconds": 600},
    )
    first = started("--sleep", "0.2", env=env)
    assert wait_until(lambda: status_of(job) == "running", 60), first.output
    first.kill()
    return job, time.monotonic()


def assert_run_again(job: ScheduledJob) -> None:
    job.refresh_from_db()
    assert job.status == "complete" and job.return_value == "stalled attempt 2"
    assert (job.attempts, job.lost) == (2, 1) and job.worker.startswith("process_tasks@")
    # The killed attempt's own write died with its transaction.
    assert Execution.objects.filter(label="stalled").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_job_left_running_by_a_killed_process_tasks_is_run_again_by_process_tasks_alone(
    no_celery_dispatch, started, settings
):
    """No Celery worker or beat here: the next process_tasks takes the job back by the
    tick's heartbeat rule (here a 3 s timeout) and runs it."""
    job, killed = kill_mid_job(started)
    started("--sleep", "0.2")
    assert wait_until(lambda: status_of(job) == "complete", 30)
    assert time.monotonic() - killed >= settings.FUTURE_CELERY_HEARTBEAT_TIMEOUT - 1
    assert_run_again(job)


@pytest.mark.django_db(transaction=True)
def test_at_the_defaults_a_killed_process_tasks_job_runs_again_within_about_a_minute(
    no_celery_dispatch, started, product_defaults
):
    """The product's defaults, as the README says: taken back once its heartbeat (every
    10 s) is older than 60 s, at the next poll (every 5 s): 50 to 65 s after the kill."""
    env = product_defaults()
    job, killed = kill_mid_job(started, env)
    started(env=env)  # --sleep at its default
    assert wait_until(lambda: status_of(job) == "complete", 120, interval=0.5)
    took = time.monotonic() - killed
    assert 45 <= took <= 80, took
    assert_run_again(job)


def terminate_sessions(application_name: str) -> int:
    """pg_terminate_backend on every session of ``application_name``; how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("defaults", [False, True], ids=["polling-0.2s", "at-the-defaults"])
def test_process_tasks_survives_its_database_sessions_being_cut_and_runs_later_jobs(
    no_celery_dispatch, started, request, defaults
):
    """Its sessions cut (as a database restart does); at the defaults it polls every 5 s."""
    env = request.getfixturevalue("product_defaults")() if defaults else base_env()
    name = f"fc-test-process-tasks-{uuid.uuid4().hex[:8]}"
    runner = started(*([] if defaults else ["--sleep", "0.2"]), env=dict(env, PGAPPNAME=name))
    before = schedule_job(timezone.now(), "proj.demo.jobs.record", args=["before"])
    assert wait_until(lambda: status_of(before) == "complete", 30), runner.output
    assert terminate_sessions(name) >= 1
    time.sleep(6 if defaults else 1)  # a pass of its loop meets the cut connection
    after = schedule_job(timezone.now(), "proj.demo.jobs.record", args=["after"])
    assert wait_until(lambda: status_of(after) == "complete", 30), runner.output
    assert runner.popen.poll() is None, runner.output
    assert runner.output.count("process_tasks: the database failed") == 1, runner.output
    assert "check that the database server is up" in runner.output

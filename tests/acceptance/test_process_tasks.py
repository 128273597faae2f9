"""manage.py process_tasks, django-background-tasks' worker, as real processes: it polls,
runs the due jobs of its queue in priority order, stops after --duration or on SIGTERM
(finishing the job in progress), and runs beside other process_tasks and Celery workers
without running a job twice."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import sys

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job
from proj.demo import tasks
from proj.demo.models import Execution
from tests.faults import outcome, schedule_labelled
from tests.processes import ROOT, Process, start_worker, wait_until


@pytest.fixture
def no_celery_dispatch(settings):
    """Jobs go to no broker: process_tasks runs them."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


@pytest.fixture
def started(process_env):
    running: list[Process] = []

    def start(*args: str) -> Process:
        process = Process(
            "process_tasks",
            [sys.executable, str(ROOT / "manage.py"), "process_tasks", *args],
            process_env,
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

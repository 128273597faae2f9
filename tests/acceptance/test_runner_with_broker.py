"""runscheduledjobs in a project that also has a broker: the runner runs every due job that no
worker has started, and a job never runs twice, whoever gets there first."""

import datetime as dt
import os
import subprocess

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, run_jobs, schedule_job, schedule_jobs
from future_celery.runner import RUNNER, node_name
from proj.demo.models import Execution
from tests.conftest import base_env
from tests.processes import start_worker, wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


def test_a_job_handed_to_the_broker_with_no_worker_runs_in_the_runner_once(broker):
    job = schedule_job(timezone.now(), "proj.demo.jobs.record", args=["no-worker"])
    job.refresh_from_db()
    assert job.status == "queued" and job.task_id  # the commit handed it to Celery

    report = run_jobs()

    job.refresh_from_db()
    assert report.completed == [job.pk] and job.status == "complete"
    assert job.worker == node_name(RUNNER) and job.worker_pid == os.getpid()
    # A worker that starts later gets the message and finds the job taken.
    worker = start_worker(base_env())
    try:
        assert wait_until(lambda: f"is not waiting for message {job.task_id}" in worker.output, 20)
    finally:
        worker.stop()
    assert Execution.objects.filter(label="no-worker").count() == 1
    job.refresh_from_db()
    assert job.status == "complete" and job.attempts == 1


def test_a_worker_racing_the_runner_runs_each_job_once(broker, manage_py):
    worker = start_worker(base_env())
    try:
        jobs = schedule_jobs(
            [
                {
                    "when": timezone.now() + dt.timedelta(milliseconds=5 * i),
                    "callable": "proj.demo.jobs.record",
                    "args": [f"race-{i}"],
                    "kwargs": {"seconds": 0.01},
                }
                for i in range(300)
            ]
        )
        runner = subprocess.run(
            [*manage_py, "runscheduledjobs"],
            env=base_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert runner.returncode == 0, runner.stderr
        ids = [job.pk for job in jobs]
        assert wait_until(
            lambda: ScheduledJob.objects.filter(pk__in=ids, status="complete").count() == 300, 60
        )
    finally:
        worker.stop()
    labels = list(
        Execution.objects.filter(label__startswith="race-").values_list("label", flat=True)
    )
    assert sorted(labels) == sorted(f"race-{i}" for i in range(300))  # each once
    by = dict.fromkeys(["runscheduledjobs", "worker"], 0)
    for name in ScheduledJob.objects.filter(pk__in=ids).values_list("worker", flat=True):
        by["runscheduledjobs" if name.startswith("runscheduledjobs@") else "worker"] += 1
    assert by["runscheduledjobs"] > 0 and by["worker"] > 0, by  # both took some
    assert f"{by['runscheduledjobs']} completed, 0 failed" in runner.stdout

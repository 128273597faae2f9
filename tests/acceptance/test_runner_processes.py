"""The in-process runner's concurrency guard, with real runscheduledjobs processes."""

import datetime as dt
import os
import signal
import subprocess

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job
from proj.demo.models import Execution
from tests.processes import wait_until


@pytest.fixture(autouse=True)
def no_celery_dispatch(settings):
    """These projects run jobs with runscheduledjobs only: nothing goes to Celery."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


def test_a_second_runner_refuses_while_one_is_active_and_a_killed_one_blocks_nothing(
    process_env, manage_py
):
    past = timezone.now() - dt.timedelta(seconds=5)
    slow = schedule_job(past, "proj.demo.jobs.record", args=["slow"], kwargs={"seconds": 30})
    first = subprocess.Popen(
        [*manage_py, "runscheduledjobs"],
        env=process_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_until(lambda: ScheduledJob.objects.get(pk=slow.pk).status == "running", 20)

        second = subprocess.run(
            [*manage_py, "runscheduledjobs"],
            env=process_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert "another runscheduledjobs runner is active" in second.stderr
    finally:
        os.kill(first.pid, signal.SIGKILL)  # dies holding the lock, mid-job
        first.communicate(timeout=10)

    # The lock died with its process: the next runner starts and runs due jobs.
    schedule_job(past, "proj.demo.jobs.record", args=["next"])
    third = subprocess.run(
        [*manage_py, "runscheduledjobs"],
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert third.returncode == 0, third.stderr
    assert "1 completed" in third.stdout
    assert Execution.objects.filter(label="next").count() == 1
    # The killed job's own write was rolled back with its transaction.
    assert not Execution.objects.filter(label="slow").exists()


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_with_the_traceback_when_a_job_fails(process_env, manage_py):
    schedule_job(timezone.now() - dt.timedelta(seconds=1), "proj.demo.jobs.boom", args=["kaboom"])
    result = subprocess.run(
        [*manage_py, "runscheduledjobs"],
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "ValueError: kaboom" in result.stderr and "use -i to go on" in result.stderr

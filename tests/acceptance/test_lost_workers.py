"""A worker killed with jobs running and eta messages held, at the product's default settings
(tick 1 s, look-ahead 20 s, heartbeats every 10 s, a worker or job lost after 60 s, messages
sent again after 300 s): its jobs come back within about HEARTBEAT_TIMEOUT, each runs once, and
a lost attempt does not count as the job's own failure. Real `celery worker` and `celery beat`
processes of proj on each broker, real PostgreSQL."""

import datetime as dt
import os
import signal

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, conf, schedule_job
from future_celery.models import Worker
from proj.demo.models import Execution
from tests.faults import outcome, report, schedule_labelled
from tests.processes import start_beat, start_worker, wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

DEFAULTS = conf.DEFAULTS


@pytest.fixture
def defaults(product_defaults, broker):
    """This process and the processes it starts at the product's defaults, on each broker."""
    return product_defaults()


@pytest.fixture
def procs(broker):
    started = []
    yield started
    for process in reversed(started):
        process.stop()


def test_a_killed_workers_jobs_run_once_within_about_the_heartbeat_timeout(defaults, procs, broker):
    # proj's Procfile worker and beat, at the defaults.
    doomed = start_worker(defaults)
    procs += [doomed, start_beat(defaults)]
    start = timezone.now() + dt.timedelta(seconds=1)
    scenario = f"lost-worker-{broker.kind}"
    jobs = schedule_labelled(scenario, 20, start, spread=2, kwargs={"seconds": 3})
    due = {job.args[0]: job.time_slot_start for job in jobs}
    assert wait_until(
        lambda: (
            ScheduledJob.objects.filter(pk__in=[j.pk for j in jobs], status="running").count() == 2
        ),
        20,
    )
    wait_until(lambda: timezone.now() >= start + dt.timedelta(seconds=2), 5)
    doomed.kill()  # SIGKILL to the whole process group: main process and pool
    killed_at = timezone.now()
    procs.append(start_worker(defaults))

    assert wait_until(lambda: outcome(scenario)["lost"] == 0, 180, interval=1), outcome(scenario)
    rows = ScheduledJob.objects.filter(pk__in=[j.pk for j in jobs])
    lateness = {
        job.args[0]: (job.execution_start - due[job.args[0]]).total_seconds() for job in rows
    }
    result = report(
        dict(
            outcome(scenario),
            broker=broker.kind,
            latest_start_after_due_s=round(max(lateness.values()), 1),
        )
    )
    assert result["states"] == {"complete": 20} and result["duplicates"] == 0, result
    assert result["executions"] == 20, result  # each job's write committed exactly once
    assert max(lateness.values()) < 95, sorted(lateness.values())  # "about 90 s"
    # The two that were running were lost with the worker, retried without counting.
    lost = [job for job in rows if job.lost]
    assert len(lost) == 2 and all(job.attempts == 2 and job.lost == 1 for job in lost), lost
    # The held ones came back because the tick found the worker lost, not after
    # REQUEUE_AFTER (300 s) and not for Redis' visibility timeout (an hour).
    assert max(job.execution_start for job in rows) - killed_at < dt.timedelta(
        seconds=DEFAULTS["HEARTBEAT_TIMEOUT"] + 40
    )
    assert Worker.objects.filter(pid=doomed.popen.pid, lost_at__isnull=False).count() == 1


def test_a_job_that_kills_its_worker_each_time_ends_failed(defaults, procs):
    procs += [start_worker(defaults), start_beat(defaults)]
    job = schedule_job("0s", "tests.jobs.kill_own_process")
    assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).is_finished, 120, interval=0.5)
    job.refresh_from_db()
    limit = DEFAULTS["MAX_LOST"]
    assert job.status == "failed" and job.lost == limit + 1 and job.attempts == limit + 1
    assert f"lost with their worker {limit + 1} times" in job.error
    assert "FUTURE_CELERY_MAX_LOST" in job.error


def test_a_worker_announces_itself_and_removes_its_row_when_it_stops(defaults, procs):
    worker = start_worker(defaults)
    row = Worker.objects.get(pid=worker.popen.pid)
    assert row.lost_at is None and timezone.now() - row.last_seen < dt.timedelta(seconds=15)
    assert wait_until(
        lambda: Worker.objects.get(pk=row.pk).last_seen > row.last_seen,
        DEFAULTS["HEARTBEAT_INTERVAL"] + 10,
    )
    worker.stop()  # SIGTERM: a warm shutdown
    assert not Worker.objects.filter(pk=row.pk).exists()


def test_a_pool_process_killed_mid_job_is_retried_as_lost(defaults, procs):
    procs += [start_worker(defaults), start_beat(defaults)]
    job = schedule_job("0s", "proj.demo.jobs.stall_first_attempt", args=["child-lost"])
    assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).status == "running", 20)
    pid = ScheduledJob.objects.get(pk=job.pk).worker_pid
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).is_finished, 60, interval=0.5)
    job.refresh_from_db()
    # max_attempts is 1 by default: the lost attempt did not use it up.
    assert job.status == "complete" and job.attempts == 2 and job.lost == 1
    assert Execution.objects.filter(label="child-lost").count() == 1  # the killed one rolled back

"""``async def`` callables on real processes: proj's Celery worker (on Redis and RabbitMQ)
runs them to their end through every front door, in the pool process, with their ORM
writes in the job's transaction (committed with the completion, rolled back with a failure);
so do `manage.py process_tasks` and `manage.py runscheduledjobs`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job
from proj.demo.models import Note
from tests import async_jobs
from tests.processes import ROOT, wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

FINISHED = ("complete", "failed")


def schedule_each_door(prefix: str) -> dict[str, ScheduledJob]:
    now = timezone.now()
    return {
        "add": schedule_job(now, async_jobs.add, args=[2, 3]),
        "write": schedule_job(now, async_jobs.write_note, args=[f"{prefix} kept"]),
        "fail": schedule_job(
            now, async_jobs.write_note, args=[f"{prefix} undone"], kwargs={"fail": True}
        ),
        "job": schedule_job(now, async_jobs.report_job, args=[prefix]),
        "background": async_jobs.background_note(f"{prefix} from @background"),
    }


def finished(jobs: dict[str, ScheduledJob]) -> dict[str, ScheduledJob]:
    rows = {
        job.pk: job for job in ScheduledJob.objects.filter(pk__in=[j.pk for j in jobs.values()])
    }
    return {name: rows[job.pk] for name, job in jobs.items()}


def all_finished(jobs: dict[str, ScheduledJob]) -> bool:
    return all(job.status in FINISHED for job in finished(jobs).values())


def assert_ran_to_their_end(jobs: dict[str, ScheduledJob], prefix: str, pid_other_than: int):
    rows = finished(jobs)
    assert {name: row.status for name, row in rows.items()} == {
        "add": "complete",
        "write": "complete",
        "fail": "failed",
        "job": "complete",
        "background": "complete",
    }, {name: row.error[-500:] for name, row in rows.items()}
    assert rows["add"].return_value == "5"
    assert rows["job"].return_value == f"{prefix}: job #{rows['job'].pk}, attempt 1"
    assert rows["background"].return_value == f"{prefix} from @background"
    # Its ORM write: in the job's transaction, in the process that ran it, committed with it.
    pid = rows["write"].worker_pid
    assert pid and pid != pid_other_than
    assert rows["write"].return_value == str({"in_transaction": True, "pid": pid})
    assert Note.objects.filter(title=f"{prefix} kept").exists()
    assert Note.objects.filter(title=f"{prefix} from @background").exists()
    # A failure rolls it back.
    assert rows["fail"].error.rstrip().endswith(f"{prefix} undone failed after its write")
    assert not Note.objects.filter(title=f"{prefix} undone").exists()


def test_a_worker_runs_async_functions_of_every_front_door(worker, broker):
    prefix = f"worker-{broker.kind}"
    jobs = schedule_each_door(prefix)
    assert wait_until(lambda: all_finished(jobs), 30), worker.output[-3000:]
    assert_ran_to_their_end(jobs, prefix, pid_other_than=os.getpid())
    assert all(row.worker.startswith("w") for row in finished(jobs).values())


def test_a_soft_time_limit_stops_an_async_job_on_the_worker(worker, broker):
    """Celery raises the soft time limit in the pool process's thread that runs the job:
    the job fails, and its coroutine (in its event loop's thread) is cancelled, not left to
    run on and act after its job was recorded failed."""
    title = f"written after its limit ({broker.kind})"
    job = schedule_job(
        timezone.now(), async_jobs.sleep_then_write, args=[title, 3], soft_time_limit=1
    )
    assert wait_until(lambda: finished({"job": job})["job"].status == "failed", 30), worker.output[
        -3000:
    ]
    assert "Soft time limit exceeded" in finished({"job": job})["job"].error
    time.sleep(3)  # past the moment it would have written
    assert not Note.objects.filter(title=title).exists()


@pytest.mark.parametrize(
    "command", [["process_tasks", "--duration", "4", "--sleep", "0.1"], ["runscheduledjobs", "-i"]]
)
def test_the_runners_commands_run_async_functions(process_env, settings, command):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False  # no worker: the command runs them
    prefix = command[0]
    jobs = schedule_each_door(prefix)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *command],
        env=process_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert all_finished(jobs), done.stderr[-3000:]
    assert_ran_to_their_end(jobs, prefix, pid_other_than=os.getpid())
    assert {row.worker.split("@")[0] for row in finished(jobs).values()} == {command[0]}

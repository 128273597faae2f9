"""SQLite gives what it can: one worker and one beat per database file, and a clear refusal
of a second one at start-up. (Runs in the SQLite pass.)"""

import pytest
from django.db import connection
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job
from tests.processes import Process, celery_command, start_beat, start_worker, wait_until

pytestmark = pytest.mark.sqlite


@pytest.fixture(autouse=True)
def on_sqlite():
    assert connection.vendor == "sqlite", "the SQLite pass runs these (make test-sqlite)"


def refused(role_args, env, role):
    second = Process(f"second-{role}", celery_command(*role_args), env)
    try:
        assert wait_until(lambda: second.popen.poll() is not None, 60), second.output
    finally:
        second.stop()
    assert second.popen.returncode != 0
    assert f"another celery {role} already runs on the SQLite database" in second.output


def test_a_second_worker_is_refused_and_the_first_runs_jobs(process_env, redis_broker):
    first = start_worker(process_env)
    try:
        refused(["worker", "--loglevel", "INFO", "-n", "second@%h"], process_env, "worker")
        job = schedule_job(timezone.now(), "proj.demo.jobs.add", args=[20, 22])
        assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).status == "complete", 30)
        assert ScheduledJob.objects.get(pk=job.pk).return_value == "42"
    finally:
        first.stop()


def test_a_second_beat_is_refused(process_env, redis_broker):
    first = start_beat(process_env)
    try:
        refused(
            [
                "beat",
                "-S",
                "celery.beat:PersistentScheduler",  # any scheduler, not only ours
                "--loglevel",
                "INFO",
                "--pidfile",
                "",
                "--schedule",
                "/tmp/fc-second-beat",
            ],
            process_env,
            "beat",
        )
    finally:
        first.stop()

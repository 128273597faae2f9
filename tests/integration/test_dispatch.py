"""The dispatcher (tick) against real PostgreSQL and Redis, without a worker consuming."""

import datetime as dt
import itertools
import re
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from future_celery import ScheduledJob, dispatch, schedule_jobs

pytestmark = pytest.mark.engine

QUEUE = "dispatch-test"  # no worker consumes it: messages stay in Redis to be counted


def due_jobs(count, seconds_ago=1, **extra):
    when = timezone.now() - dt.timedelta(seconds=seconds_ago)
    return schedule_jobs(
        [
            {
                "when": when,
                "callable": "proj.demo.jobs.add",
                "args": [i, i],
                "queue": QUEUE,
                **extra,
            }
            for i in range(count)
        ]
    )


@pytest.fixture
def no_on_commit(settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False


@pytest.fixture
def queue(redis_broker):
    redis = redis_broker.client
    redis.delete(QUEUE)
    yield lambda: redis.llen(QUEUE)
    redis.delete(QUEUE)


def test_a_tick_dispatches_due_jobs_in_batches_and_leaves_future_ones(
    transactional_db, no_on_commit, queue, settings
):
    settings.FUTURE_CELERY_DISPATCH_BATCH_SIZE = 40
    due_jobs(150)
    later = schedule_jobs([{"when": "1h", "callable": "proj.demo.jobs.add", "args": [1, 1]}])[0]
    report = dispatch.tick()
    assert report.dispatched == 150 == queue()
    assert ScheduledJob.objects.filter(status="queued").count() == 150
    assert ScheduledJob.objects.get(pk=later.pk).status == "scheduled"
    assert (
        len(set(ScheduledJob.objects.filter(status="queued").values_list("task_id", flat=True)))
        == 150
    )


def test_dispatching_given_ids_names_at_most_a_batch_of_them_per_query(
    transactional_db, no_on_commit, queue, settings
):
    # Each batch's query names its own slice of the ids: with all of them in every query,
    # the dispatch after the commit of 20,000 jobs spent seconds building queries.
    settings.FUTURE_CELERY_DISPATCH_BATCH_SIZE = 40
    jobs = due_jobs(150)
    other = due_jobs(1)[0]
    with CaptureQueriesContext(connection) as captured:
        assert dispatch.dispatch_due(ids=[job.pk for job in jobs]) == 150 == queue()
    in_lists = [
        re.search(r"IN \(([^)]*)\)", query["sql"]).group(1).split(",")
        for query in captured.captured_queries
        if "FOR UPDATE" in query["sql"]
    ]
    assert len(in_lists) == 4 and max(map(len, in_lists)) == 40
    assert sorted(int(pk) for ids in in_lists for pk in ids) == sorted(job.pk for job in jobs)
    assert ScheduledJob.objects.filter(status="queued").count() == 150
    assert ScheduledJob.objects.get(pk=other.pk).status == "scheduled"


def test_overdue_jobs_are_expired_by_the_tick_not_dispatched(transactional_db, no_on_commit, queue):
    job = due_jobs(1, seconds_ago=7200)[0]  # default expiry one week: not overdue
    old = schedule_jobs(
        [
            {
                "when": timezone.now() - dt.timedelta(hours=2),
                "callable": "proj.demo.jobs.add",
                "args": [1, 2],
                "expires": "1h",
                "queue": QUEUE,
            }
        ]
    )[0]
    report = dispatch.tick()
    assert report.expired == 1 and report.dispatched == 1 == queue()
    assert ScheduledJob.objects.get(pk=old.pk).status == "expired"
    assert ScheduledJob.objects.get(pk=job.pk).status == "queued"


def test_three_ticks_at_once_dispatch_every_job_exactly_once(
    transactional_db, no_on_commit, queue, process_env, manage_py
):
    due_jobs(1500)
    commands = [
        subprocess.Popen(
            [*manage_py, "runscheduledjobs", "--dispatch"],
            env=process_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [command.communicate(timeout=120) for command in commands]
    assert all(command.returncode == 0 for command in commands), outputs
    counts = [int(out.split()[0]) for out, _ in outputs]
    assert sum(counts) == 1500 == queue()
    assert ScheduledJob.objects.filter(status="queued").count() == 1500


def test_a_queued_job_whose_message_was_lost_gets_it_again(
    transactional_db, no_on_commit, queue, redis_broker
):
    job = due_jobs(1)[0]
    dispatch.tick()
    first_task = ScheduledJob.objects.get(pk=job.pk).task_id
    redis_broker.client.delete(QUEUE)  # the message is lost
    ScheduledJob.objects.filter(pk=job.pk).update(
        queued_at=timezone.now() - dt.timedelta(minutes=10)
    )
    report = dispatch.tick()
    job.refresh_from_db()
    assert report.republished == 1 and report.dispatched == 0 and queue() == 1
    # The same task id: had the first message only been late, either one may run the job.
    assert job.status == "queued" and job.task_id == first_task and job.dispatches == 2
    assert first_task in redis_broker.client.lindex(QUEUE, 0).decode()


def test_each_resend_of_a_message_waits_twice_as_long(
    transactional_db, no_on_commit, queue, settings
):
    """A backlog that drains slower than REQUEUE_AFTER must not have every message replaced
    before a worker reaches it: the waits double, so a job gets a few messages at most."""
    settings.FUTURE_CELERY_REQUEUE_AFTER, settings.FUTURE_CELERY_LOOKAHEAD = 10, 0
    job = due_jobs(1)[0]
    start = timezone.now()
    dispatch.tick(start)
    sent = [start]
    for second in range(1, 700):
        if dispatch.republish_stale(start + dt.timedelta(seconds=second)):
            sent.append(start + dt.timedelta(seconds=second))
    waits = [(b - a).total_seconds() for a, b in itertools.pairwise(sent)]
    # One check a second, each resend after its wait was exceeded: 10 s, 20 s, 40 s...
    assert waits == [11, 21, 41, 81, 161, 321] and queue() == 7
    job.refresh_from_db()
    assert job.dispatches == 7 and job.status == "queued"


def test_a_message_is_not_sent_again_once_its_job_started(transactional_db, no_on_commit, queue):
    job = due_jobs(1)[0]
    dispatch.tick()
    ScheduledJob.objects.filter(pk=job.pk).update(status="running")
    assert dispatch.republish_stale(timezone.now() + dt.timedelta(hours=1)) == 0
    assert queue() == 1


def test_a_failed_publish_puts_the_jobs_back_to_scheduled(
    transactional_db, no_on_commit, process_env, manage_py
):
    due_jobs(5)
    env = dict(process_env, TEST_CELERY_BROKER_URL="redis://127.0.0.1:1/0")  # nothing listens
    result = subprocess.run(
        [*manage_py, "runscheduledjobs", "--dispatch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "0 dispatched" in result.stdout
    assert ScheduledJob.objects.filter(status="scheduled").count() == 5


def test_the_dispatch_command_reports_what_it_did(transactional_db, no_on_commit, queue, capsys):
    due_jobs(3)
    call_command("runscheduledjobs", "--dispatch")
    assert (
        "3 dispatched, 0 expired, 0 sent again, 0 sent again for lost workers, "
        "0 recovered from lost workers"
    ) in capsys.readouterr().out


def test_the_wait_between_resends_stops_doubling_at_64_times(
    transactional_db, no_on_commit, queue, settings
):
    settings.FUTURE_CELERY_REQUEUE_AFTER, settings.FUTURE_CELERY_LOOKAHEAD = 10, 0
    job = due_jobs(1)[0]
    dispatch.tick()
    now = timezone.now()
    ScheduledJob.objects.filter(pk=job.pk).update(
        dispatches=20, queued_at=now - dt.timedelta(seconds=640 - 1)
    )
    assert dispatch.republish_stale(now) == 0
    ScheduledJob.objects.filter(pk=job.pk).update(queued_at=now - dt.timedelta(seconds=640 + 1))
    assert dispatch.republish_stale(now) == 1 and queue() == 2

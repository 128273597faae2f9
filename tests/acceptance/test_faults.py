"""Fault injection: real `celery worker` / `celery beat` processes of proj against a real broker
and PostgreSQL; each scenario does to them what production does, then checks that every job
ended in a final state, none ran twice and none was lost (a side-effect table, written by the
jobs, counts the executions). Each scenario prints its row of the table (tests/faults.py).

The scenarios that apply to any broker (workers killed, warm shutdown, a broker restart, three
beats, expiry) run on Redis and on RabbitMQ (the ``broker`` fixture); those about Redis itself
(its visibility_timeout, backlogs measured on it) or about PostgreSQL run on Redis only
(``redis_broker``)."""

import datetime as dt
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from future_celery import ScheduledJob, dispatch, schedule_job
from tests import brokers
from tests.conftest import base_env
from tests.faults import labelled_jobs, outcome, report, schedule_labelled
from tests.processes import Process, free_port, start_beat, start_worker, wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

RECORD = "proj.demo.jobs.record"


@pytest.fixture
def procs(request):
    """Processes a scenario starts; all are stopped after it, whatever happened. Each
    scenario starts on an empty broker: its ``broker`` (each in turn) if it asks for one,
    else the tests' Redis."""
    name = "broker" if "broker" in request.fixturenames else "redis_broker"
    request.getfixturevalue(name).purge()
    started = []
    yield started
    for process in reversed(started):
        process.stop()


def all_final(scenario, timeout, tick=False):
    if wait_until(
        lambda: outcome(scenario)["lost"] == 0,
        timeout,
        interval=0.5,
        action=dispatch.tick if tick else None,
    ):
        return True
    print("NOT FINAL", outcome(scenario))
    return False


def assert_clean(scenario, **expected_states):
    result = report(outcome(scenario))
    assert result["duplicates"] == 0 and result["lost"] == 0, result
    if expected_states:
        assert result["states"] == expected_states, result
    return result


def test_redelivered_messages_run_once(procs, redis_broker, settings):
    """1. Redis' visibility_timeout of 2 s, etas 4-7 s away (beyond it), two workers."""
    env = dict(base_env(), CELERY_VISIBILITY_TIMEOUT="2", FUTURE_CELERY_LOOKAHEAD="10")
    settings.FUTURE_CELERY_LOOKAHEAD = 10
    procs += [start_worker(env), start_worker(env)]
    jobs = schedule_labelled("redelivery", 100, timezone.now() + dt.timedelta(seconds=4), spread=3)
    assert ScheduledJob.objects.filter(pk__in=[j.pk for j in jobs], status="queued").count() == 100
    assert all_final("redelivery", 40)
    assert_clean("redelivery", complete=100)


def test_a_pool_child_killed_mid_job_is_retried_once(procs, broker):
    """2a. SIGKILL to the pool process running the job."""
    procs.append(start_worker(base_env()))
    job = schedule_job(
        "0s", "proj.demo.jobs.stall_first_attempt", args=["child-kill-0"], max_attempts=2
    )
    assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).status == "running", 20)
    pid = ScheduledJob.objects.get(pk=job.pk).worker_pid
    assert pid in procs[0].child_pids()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(
        lambda: ScheduledJob.objects.get(pk=job.pk).is_finished, 40, action=dispatch.tick
    )
    job.refresh_from_db()
    assert job.status == "complete" and job.attempts == 2
    result = assert_clean("child-kill", complete=1)
    assert result["executions"] == 1, result  # the killed attempt's write was rolled back


def test_a_worker_killed_with_its_messages_flushed_gives_the_job_back(procs, broker):
    """2b + 8. SIGKILL to the worker's main process (and its pool), the broker flushed (Redis'
    database emptied, RabbitMQ's queues purged)."""
    first = start_worker(base_env())
    job = schedule_job(
        "0s", "proj.demo.jobs.stall_first_attempt", args=["worker-kill+flush-0"], max_attempts=2
    )
    assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).status == "running", 20)
    os.kill(first.popen.pid, signal.SIGKILL)  # the main process first: the pool is orphaned
    first.kill()
    broker.purge()  # its message is gone too
    procs.append(start_worker(base_env()))
    assert wait_until(
        lambda: ScheduledJob.objects.get(pk=job.pk).is_finished, 40, action=dispatch.tick
    )
    job.refresh_from_db()
    assert job.status == "complete" and job.attempts == 2 and "Worker lost" not in job.return_value
    result = assert_clean("worker-kill+flush", complete=1)
    assert result["executions"] == 1, result  # the killed attempt's write was rolled back


def test_a_warm_shutdown_gives_back_the_eta_messages(procs, broker, settings):
    """3. SIGTERM while the worker holds eta messages; then a new worker."""
    settings.FUTURE_CELERY_LOOKAHEAD = 15
    env = dict(base_env(), FUTURE_CELERY_LOOKAHEAD="15")
    first = start_worker(env)
    schedule_labelled("warm-shutdown", 100, timezone.now() + dt.timedelta(seconds=6), spread=3)
    # It holds every job's eta message (the jobs are due in 6 s).
    assert wait_until(lambda: first.messages_received(RECORD) >= 100, 10), first.output[-3000:]
    first.stop()  # SIGTERM: warm shutdown, unacked eta messages go back to the broker
    procs.append(start_worker(env))
    assert all_final("warm-shutdown", 40)
    assert_clean("warm-shutdown", complete=100)


def test_redis_killed_and_restarted_loses_no_job(procs, settings, transactional_db):
    """4. A Redis of its own, without persistence, killed while jobs are queued and while
    beat publishes, then restarted empty. Workers and beat reconnect by themselves. (On a
    free port: the passes beside each other in make test each run this scenario.)"""
    port = free_port()
    redis = Process(
        "redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
        ],
        dict(os.environ),
    )
    redis.wait_for_output("Ready to accept connections")
    env = dict(base_env(), TEST_CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0")
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False  # beat (on this Redis) dispatches
    try:
        procs += [start_worker(env), start_beat(env)]
        schedule_labelled("redis-restart", 200, timezone.now() + dt.timedelta(seconds=2), spread=10)
        # Some jobs done, some queued (eta messages held by the worker), most still to dispatch.
        assert wait_until(lambda: outcome("redis-restart")["executions"] >= 20, 30, interval=0.2)
        redis.kill()
        time.sleep(2)  # the outage: workers and beat fail to reach Redis meanwhile
        redis = Process("redis", redis.popen.args, dict(os.environ))
        redis.wait_for_output("Ready to accept connections")
        assert all_final("redis-restart", 90)
    finally:
        for process in procs:
            process.stop()
        procs.clear()
        redis.stop()
    assert_clean("redis-restart", complete=200)


@pytest.mark.parametrize("broker", ["rabbitmq"], indirect=True)
def test_the_machines_rabbitmq_stopped_and_started_again_loses_no_job(procs, broker, settings):
    """4b. The machine's RabbitMQ (the tests' vhost on it) stopped while jobs are queued and
    while beat publishes (rabbitmqctl stop_app: every connection closed, the port refused),
    then started again. Its durable queues keep the messages they held; workers and beat
    reconnect by themselves. RabbitMQ is started again whatever happens."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False  # beat dispatches
    procs += [start_worker(base_env()), start_beat(base_env())]
    schedule_labelled("rabbitmq-restart", 200, timezone.now() + dt.timedelta(seconds=2), spread=10)
    # Some jobs done, some queued (eta messages held by the worker), most still to dispatch.
    assert wait_until(lambda: outcome("rabbitmq-restart")["executions"] >= 20, 30, interval=0.2)
    try:
        brokers.stop_rabbitmq()
        with pytest.raises(ConnectionRefusedError):  # down indeed
            socket.create_connection(("127.0.0.1", 5672), timeout=5).close()
        time.sleep(2)  # the outage: beat's ticks fail to publish meanwhile
    finally:
        brokers.start_rabbitmq()
    assert all_final("rabbitmq-restart", 90)
    assert_clean("rabbitmq-restart", complete=200)
    assert "Connection to broker lost" in procs[0].output  # the worker reconnected


def test_three_beats_at_once_dispatch_each_job_once(procs, broker, settings):
    """5. Three celery beat processes ticking on 1,000 due jobs."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    schedule_labelled("three-beats", 1000, timezone.now() - dt.timedelta(seconds=1))
    procs.append(start_worker(base_env()))
    procs += [start_beat(base_env()) for _ in range(3)]
    assert all_final("three-beats", 120)
    assert_clean("three-beats", complete=1000)


def test_a_crash_between_the_ticks_commit_and_its_publish(procs, redis_broker, settings, manage_py):
    """6. The tick commits its claim, then hangs publishing (a broker that never answers)
    and is killed there. Their messages are sent after REQUEUE_AFTER, and the jobs run."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    schedule_labelled("crash-after-claim", 50, timezone.now() - dt.timedelta(seconds=1))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections, never answers
    env = dict(base_env(), TEST_CELERY_BROKER_URL=f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
    silent.settimeout(30)
    tick = Process("tick", [*manage_py, "runscheduledjobs", "--dispatch"], env)
    accepted = []
    try:
        claimed = wait_until(lambda: ScheduledJob.objects.filter(status="queued").count() == 50, 30)
        assert claimed, (outcome("crash-after-claim"), tick.output[-3000:])
        accepted.append(silent.accept()[0])  # it has connected to the broker, to publish
        # Stuck in publish, after the commit: a second later it has still not returned.
        assert not wait_until(lambda: tick.popen.poll() is not None, 1.0), tick.output
        tick.kill()
    finally:
        tick.stop()
        for conn in accepted:
            conn.close()
        silent.close()
    procs.append(start_worker(base_env()))
    assert all_final("crash-after-claim", 60, tick=True)
    assert_clean("crash-after-claim", complete=50)


def backend_pid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def terminate_backends(spare):
    """Terminate every session on the test database but this one and ``spare`` (the test's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND pid <> %s",
            [spare],
        )


@pytest.mark.postgresql
def test_terminated_postgresql_connections_during_ticks_and_jobs(procs, redis_broker):
    """7a. Every other connection to the database terminated each second, for 8 s, while
    beat ticks and the worker runs jobs."""
    procs += [start_worker(base_env()), start_beat(base_env())]
    schedule_labelled(
        "pg-terminate",
        200,
        timezone.now() + dt.timedelta(seconds=1),
        spread=8,
        max_attempts=5,
        kwargs={"seconds": 0.05},
    )
    stop = threading.Event()
    spare = backend_pid()

    def killer():
        try:
            while not stop.wait(1.0):
                terminate_backends(spare)
        finally:
            connection.close()

    thread = threading.Thread(target=killer)
    thread.start()
    time.sleep(9)  # the fault's duration: while the jobs fall due (1 to 9 s from now)
    stop.set()
    thread.join()
    assert all_final("pg-terminate", 90)
    result = assert_clean("pg-terminate")
    assert set(result["states"]) <= {"complete", "failed"}
    assert procs[0].popen.poll() is None and procs[1].popen.poll() is None


def pg_ctlcluster(action: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """pg_ctlcluster ``action`` on the machine's PostgreSQL cluster (the tests' server)."""
    version = os.listdir("/etc/postgresql")[0]
    return subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action, *args],
        check=check,
        timeout=60,
    )


def start_postgresql() -> None:
    """Start the machine's PostgreSQL if it is down, and wait until it accepts connections."""
    pg_ctlcluster("start", check=False)  # exits non-zero when it already runs
    db = connection.settings_dict
    address = ["-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
    assert wait_until(
        lambda: subprocess.run(["pg_isready", "-q", *address], timeout=10).returncode == 0,
        60,
        interval=0.5,
    ), "the machine's PostgreSQL does not accept connections again"
    connection.close()  # the test's session died with the server


@pytest.mark.postgresql
def test_the_machines_postgresql_restarted_while_jobs_run_loses_no_job(procs, redis_broker):
    """7b. The machine's PostgreSQL restarted (pg_ctlcluster restart, fast shutdown) while
    jobs run; beat and the worker recover without a restart. PostgreSQL is started again
    whatever happens."""
    procs += [start_worker(base_env()), start_beat(base_env())]
    schedule_labelled(
        "pg-restart", 100, timezone.now() + dt.timedelta(seconds=1), spread=6, max_attempts=5
    )
    # Some jobs done, the others running, queued or still to dispatch.
    assert wait_until(lambda: outcome("pg-restart")["executions"] >= 30, 30, interval=0.2)
    try:
        pg_ctlcluster("restart", "-m", "fast")
    finally:
        start_postgresql()
    assert all_final("pg-restart", 90)
    result = assert_clean("pg-restart")
    assert set(result["states"]) <= {"complete", "failed"}
    assert procs[0].popen.poll() is None and procs[1].popen.poll() is None


def test_workers_down_past_the_expiry(procs, broker, settings):
    """9. No worker until the jobs' expiry has passed: they are not run, they are expired."""
    jobs = schedule_labelled("expired-while-down", 20, timezone.now(), expires="2s")
    expired = max(job.time_slot_end for job in jobs)
    assert wait_until(lambda: timezone.now() > expired, 10)
    procs += [start_worker(base_env()), start_beat(base_env())]
    assert all_final("expired-while-down", 30)
    assert_clean("expired-while-down", expired=20)


def run_backlog(procs, scenario, count, requeue_after, timeout):
    """Workers down (beat up, its ticks unanswered) while ``count`` jobs fall due; then a
    worker starts. Returns the outcome, the messages the worker received and its peak RSS."""
    env = dict(base_env(), FUTURE_CELERY_REQUEUE_AFTER=str(requeue_after))
    procs.append(start_beat(env))
    schedule_labelled(scenario, count, timezone.now() - dt.timedelta(seconds=5), spread=5)
    # Beat's ticks dispatch the backlog: every job queued, its message waiting for a worker.
    assert wait_until(
        lambda: labelled_jobs(scenario).filter(status="queued").count() == count, 60, interval=0.5
    ), outcome(scenario)
    worker = start_worker(env)
    procs.append(worker)
    peak = [0]

    def sample_memory():
        peak[0] = max(peak[0], worker.rss_kib())

    started = time.monotonic()
    wait_until(lambda: not outcome(scenario)["lost"], timeout, interval=1, action=sample_memory)
    elapsed = time.monotonic() - started
    result = outcome(scenario)
    result.update(
        messages_received=worker.messages_received(RECORD),
        worker_peak_rss_mib=round(peak[0] / 1024),
        seconds=round(elapsed, 1),
    )
    report(result)
    if result["lost"] or result["duplicates"]:
        print(worker.output[-5000:])
    return result


def test_a_backlog_of_10000_due_jobs(procs, redis_broker, settings):
    """10. 10,000 jobs fall due while the workers are down; then one starts: every job runs
    once, each dispatched once (the backlog drains within REQUEUE_AFTER), memory bounded."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    result = run_backlog(procs, "backlog", 10_000, requeue_after=300, timeout=200)
    assert result["duplicates"] == 0 and result["lost"] == 0, result
    assert result["states"] == {"complete": 10_000}, result
    assert result["messages_received"] == 10_000, result  # one message per job
    assert ScheduledJob.objects.filter(attempts=1, dispatches=1).count() == 10_000
    assert result["worker_peak_rss_mib"] < 600, result


def test_a_backlog_that_drains_far_slower_than_requeue_after(procs, redis_broker, settings):
    """10b. The same with REQUEUE_AFTER = 1 s while the backlog takes ~20 s to drain. The
    messages not taken up in time are sent again under the same task id, each wait twice
    the last, so the first message still runs its job and the backlog drains. (When a
    resend replaced the message, no job behind the first seconds of the queue ever ran.)"""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    result = run_backlog(procs, "slow-backlog", 5_000, requeue_after=1, timeout=150)
    assert result["duplicates"] == 0 and result["lost"] == 0, result
    assert result["states"] == {"complete": 5_000}, result
    sent = sum(
        ScheduledJob.objects.filter(args__0__startswith="slow-backlog-").values_list(
            "dispatches", flat=True
        )
    )
    assert 5_000 < sent and result["messages_received"] <= sent, (sent, result)
    # Waits of 4, 5, 7, 11, 19... s (look-ahead 3 s + 1 s doubling): within ~30 s, a
    # job gets at most 5 messages whatever the backlog.
    assert sent <= 5 * 5_000, (sent, result)


def test_time_zones(procs, redis_broker, settings):
    """11. A worker in another TZ; a naive datetime under USE_TZ; a job across a DST change."""
    import zoneinfo

    procs.append(start_worker(dict(base_env(), TZ="Pacific/Auckland")))
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    local_soon = timezone.now().astimezone(berlin).replace(tzinfo=None) + dt.timedelta(seconds=2)
    with timezone.override(berlin):
        naive = schedule_job(local_soon, "proj.demo.jobs.record", args=["tz-0"])
    assert naive.time_slot_start == local_soon.replace(tzinfo=berlin)
    assert wait_until(lambda: ScheduledJob.objects.get(pk=naive.pk).is_finished, 20)
    naive.refresh_from_db()
    late = naive.execution_start - naive.time_slot_start
    assert dt.timedelta(0) <= late < dt.timedelta(seconds=1)
    # Across the DST change: a daily job at 09:00 Berlin stays at 09:00 (08:00 UTC, then 07:00).
    with timezone.override(berlin):
        daily = schedule_job(
            dt.datetime(2026, 3, 28, 9, 0), "proj.demo.jobs.say_hello", expires=None
        )
        daily.refresh_from_db()  # as the worker sees it: in UTC
        after = daily.reschedule("1d")
    assert daily.time_slot_start == dt.datetime(2026, 3, 28, 8, 0, tzinfo=dt.UTC)
    assert after.time_slot_start == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)
    assert_clean("tz", complete=1)

"""The Celery engine against a real broker (each test on Redis, then on RabbitMQ: the broker
fixture) and a real `celery worker` process."""

import datetime as dt
import json

import pytest
from django.db import transaction
from django.utils import timezone
from kombu import Connection, Queue

from future_celery import ScheduledJob, dispatch, schedule_job
from future_celery.tasks import run_job
from proj.celery import app
from proj.demo.models import Execution
from tests.processes import start_worker, wait_until

pytestmark = pytest.mark.engine


def refreshed(job):
    job.refresh_from_db()
    return job


def finished(job, timeout=20.0, tick=False):
    """Wait until the job reaches a final state (ticking the dispatcher if asked)."""
    assert wait_until(
        lambda: refreshed(job).is_finished, timeout, action=dispatch.tick if tick else None
    ), f"job stays {job.status}: {job!r}"
    return job


def test_a_job_due_now_runs_on_the_worker_and_writes_its_result(worker):
    job = schedule_job("0s", "proj.demo.jobs.add", args=[2, 3])
    finished(job)
    assert job.status == "complete" and job.return_value == "5" and job.attempts == 1
    assert job.worker.startswith("w") and job.task_id.startswith(f"fc-{job.pk}-")
    assert job.execution_start >= job.time_slot_start and job.execution_end >= job.execution_start


def test_a_job_names_its_worker_as_celery_does_and_the_pool_process_apart(worker):
    job = finished(schedule_job("0s", "proj.demo.jobs.add", args=[1, 1]))
    stats = app.control.inspect(timeout=5).stats() or {}  # what `celery inspect stats` shows
    assert job.worker in stats, (job.worker, list(stats))
    assert job.worker_pid in stats[job.worker]["pool"]["processes"]
    assert job.worker_pid in worker.child_pids()  # a live pool process of that worker


def test_jobs_start_at_their_eta_not_before(worker):
    start = timezone.now() + dt.timedelta(seconds=2)
    jobs = [
        schedule_job(
            start + dt.timedelta(milliseconds=300 * i), "proj.demo.jobs.record", args=[f"eta{i}"]
        )
        for i in range(4)
    ]
    assert all(refreshed(job).status == "queued" for job in jobs)  # dispatched on commit
    for job in jobs:
        finished(job)
        started = Execution.objects.get(label=job.args[0]).started
        assert job.time_slot_start <= started < job.time_slot_start + dt.timedelta(seconds=1)


def test_a_job_outside_the_look_ahead_waits_for_a_tick(worker):
    job = schedule_job("5s", "proj.demo.jobs.say_hello")
    dispatch.tick()
    assert refreshed(job).status == "scheduled"
    finished(job, tick=True)
    assert job.status == "complete" and job.execution_start >= job.time_slot_start


def test_a_failure_is_written_back_with_the_traceback_and_its_writes_roll_back(worker):
    job = schedule_job("0s", "proj.demo.jobs.record", args=["doomed"], kwargs={"fail": True})
    finished(job)
    assert job.status == "failed" and "record('doomed') was asked to fail" in job.error
    assert "Traceback" in job.error
    assert not Execution.objects.filter(label="doomed").exists()


def test_retries_back_off_then_fail_after_max_attempts(worker):
    job = schedule_job("0s", "proj.demo.jobs.boom", args=["again"], max_attempts=3)
    finished(job, tick=True)
    assert job.status == "failed" and job.attempts == 3 and "ValueError: again" in job.error


def test_a_retried_job_that_succeeds_completes(worker):
    job = schedule_job(
        "0s", "proj.demo.jobs.stall_first_attempt", args=["retry-ok", 0], max_attempts=2
    )
    finished(job, tick=True)
    assert job.status == "complete" and job.return_value == "retry-ok attempt 1"


def test_the_soft_time_limit_fails_the_job(worker):
    job = schedule_job("0s", "proj.demo.jobs.sleep", args=[10], soft_time_limit=1)
    finished(job)
    assert job.status == "failed" and "Soft time limit exceeded" in job.error


def test_the_hard_time_limit_fails_the_job_and_the_worker_goes_on(worker):
    job = schedule_job("0s", "proj.demo.jobs.sleep", args=[10], time_limit=1)
    finished(job)
    assert job.status == "failed" and "Hard time limit exceeded" in job.error
    after = schedule_job("0s", "proj.demo.jobs.say_hello")
    assert finished(after).status == "complete"


def test_a_job_reschedules_itself_on_the_worker(worker):
    schedule_job("0s", "proj.demo.jobs.countdown", kwargs={"n": 3})
    assert wait_until(lambda: ScheduledJob.objects.filter(status="complete").count() == 3, 20)
    chain = list(ScheduledJob.objects.order_by("id"))
    assert [job.return_value for job in chain] == ["3", "2", "1"]
    assert chain[2].rescheduled_from_id == chain[1].pk


def test_cancel_revokes_a_queued_job(worker):
    job = schedule_job("2s", "proj.demo.jobs.record", args=["cancelled"])
    assert refreshed(job).status == "queued"
    job.cancel()
    wait_until(lambda: False, 3)  # past its eta
    assert refreshed(job).status == "cancelled"
    assert not Execution.objects.filter(label="cancelled").exists()


def test_a_duplicate_delivery_runs_the_job_once(worker):
    job = schedule_job("0s", "proj.demo.jobs.record", args=["dup"], kwargs={"seconds": 1})
    refreshed(job)
    for _ in range(3):  # the same message again, as a broker redelivery would
        run_job.apply_async(args=[job.pk], task_id=job.task_id)
    finished(job)
    wait_until(lambda: False, 1.5)
    assert Execution.objects.filter(label="dup").count() == 1 and job.attempts == 1


def test_stale_and_unknown_messages_do_nothing(worker):
    job = schedule_job("0s", "proj.demo.jobs.record", args=["once"])
    finished(job)
    run_job.apply_async(args=[job.pk], task_id="fc-stale-dispatch")
    run_job.apply_async(args=[987654321], task_id="fc-no-such-job")
    run_job.apply_async(args=["not-an-id"], task_id="fc-garbage")
    after = schedule_job("0s", "proj.demo.jobs.say_hello")
    finished(after)
    assert Execution.objects.filter(label="once").count() == 1
    assert worker.popen.poll() is None


def test_on_commit_dispatches_after_commit_and_never_before(worker):
    with transaction.atomic():
        job = schedule_job("0s", "proj.demo.jobs.record", args=["committed"])
        assert ScheduledJob.objects.get(pk=job.pk).status == "scheduled"
    assert refreshed(job).status in ("queued", "running", "complete")
    finished(job)


def test_a_rolled_back_schedule_dispatches_nothing(worker, broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        schedule_job("0s", "proj.demo.jobs.record", args=["rolled back"])
        raise RuntimeError("roll back")
    probe = schedule_job("0s", "proj.demo.jobs.say_hello")
    finished(probe)
    assert not ScheduledJob.objects.filter(callable_name="proj.demo.jobs.record").exists()
    assert not Execution.objects.exists()


def test_the_message_names_the_callable_and_carries_only_the_job_id(
    module_worker, transactional_db, broker
):
    job = schedule_job("0s", "proj.demo.jobs.say_hello", args=["secret-argument"], queue="nobody")
    with Connection(broker.url) as connection:  # the message, taken off the queue no worker reads
        queue = Queue("nobody", no_declare=True)(connection.default_channel)
        got = []
        assert wait_until(lambda: got.append(queue.get(no_ack=True)) or got[-1] is not None, 10)
    message = got[-1]
    headers = message.headers
    assert headers["shadow"] == "proj.demo.jobs.say_hello"
    assert headers["task"] == "future_celery.run_job" and headers["id"] == refreshed(job).task_id
    assert json.loads(message.body) == [
        [job.pk],
        {},
        {"callbacks": None, "errbacks": None, "chain": None, "chord": None},
    ]
    assert "secret-argument" not in json.dumps(headers)


def test_a_message_past_its_expiry_marks_the_job_expired(transactional_db, broker):
    from tests.conftest import base_env

    job = schedule_job(
        timezone.now(), "proj.demo.jobs.record", args=["late"], expires="1s", queue="late-queue"
    )
    assert refreshed(job).status == "queued"
    wait_until(lambda: False, 1.5)
    late_worker = start_worker(base_env(), queues="late-queue")
    try:
        assert wait_until(lambda: refreshed(job).status == "expired", 15)
    finally:
        late_worker.stop()
    assert not Execution.objects.filter(label="late").exists()


def test_a_long_job_with_a_live_worker_keeps_it(worker):
    # Heartbeat timeout is 3 s in the test settings; the job takes 5 s; the tick runs all along.
    job = schedule_job(
        "0s", "proj.demo.jobs.record", args=["long"], kwargs={"seconds": 5}, max_attempts=3
    )
    finished(job, timeout=30, tick=True)
    assert job.status == "complete" and job.attempts == 1
    assert Execution.objects.filter(label="long").count() == 1


def test_a_job_whose_worker_was_killed_is_taken_back_and_completes(transactional_db, broker):
    from tests.conftest import base_env

    # A queue of their own, so that no other worker takes the job.
    doomed = start_worker(base_env(), queues="kill-test")
    job = schedule_job(
        "0s",
        "proj.demo.jobs.stall_first_attempt",
        args=["killed"],
        max_attempts=2,
        queue="kill-test",
    )
    assert wait_until(lambda: refreshed(job).status == "running", 20)
    doomed.kill()  # the whole worker: main process and pool
    rescuer = start_worker(base_env(), queues="kill-test")
    try:
        finished(job, timeout=40, tick=True)
    finally:
        rescuer.stop()
    assert job.status == "complete" and job.attempts == 2
    assert job.return_value == "killed attempt 2"
    # The killed attempt's write rolled back with its transaction.
    assert Execution.objects.filter(label="killed").count() == 1


def test_a_job_lost_more_than_max_lost_times_fails_with_a_clear_error(
    transactional_db, broker, settings
):
    from tests.conftest import base_env

    settings.FUTURE_CELERY_MAX_LOST = 0  # the tick (here) fails the first lost attempt
    doomed = start_worker(base_env(), queues="lost-test")
    job = schedule_job("0s", "proj.demo.jobs.stall_first_attempt", args=["lost"], queue="lost-test")
    assert wait_until(lambda: refreshed(job).status == "running", 20)
    doomed.kill()
    finished(job, timeout=30, tick=True)
    assert job.status == "failed" and "Worker lost" in job.error and job.attempts == 1
    assert "lost with their worker once (FUTURE_CELERY_MAX_LOST = 0)" in job.error


def test_a_message_revoked_in_celery_marks_the_job_cancelled(worker):
    job = schedule_job("2s", "proj.demo.jobs.record", args=["revoked"])
    assert refreshed(job).status == "queued"
    run_job.app.control.revoke(job.task_id)  # what Flower's "revoke" does
    assert wait_until(lambda: refreshed(job).status == "cancelled", 10)
    assert not Execution.objects.filter(label="revoked").exists()


def test_a_row_edited_to_an_unknown_callable_fails_and_the_worker_goes_on(worker, settings):
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    job = schedule_job("0s", "proj.demo.jobs.say_hello")
    ScheduledJob.objects.filter(pk=job.pk).update(
        callable_name="proj.demo.jobs.vanished", args={"not": "a list"}
    )
    dispatch.tick()
    finished(job)
    assert job.status == "failed" and "has no 'vanished'" in job.error
    after = schedule_job("0s", "proj.demo.jobs.say_hello")
    dispatch.tick()
    assert finished(after).status == "complete"


def test_the_worker_refuses_a_pickled_message(worker):
    assert run_job.app.conf.accept_content == ["json"]
    assert run_job.app.conf.task_serializer == "json"
    job = schedule_job("5s", "proj.demo.jobs.record", args=["pickled"], expires="1m")
    job.refresh_from_db()
    ScheduledJob.objects.filter(pk=job.pk).update(status="queued", task_id="fc-pickled")
    run_job.apply_async(args=[job.pk], task_id="fc-pickled", serializer="pickle")
    assert wait_until(
        lambda: "Refusing to deserialize untrusted content of type pickle" in worker.output, 10
    )
    assert refreshed(job).status == "queued"
    assert not Execution.objects.filter(label="pickled").exists()


def test_the_pool_process_froze_its_startup_objects(worker):
    job = finished(schedule_job("0s", "tests.jobs.frozen_objects"))
    assert job.status == "complete" and int(job.return_value) > 10_000

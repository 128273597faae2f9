"""proj's real `celery worker` and `celery beat` processes (the Procfile's commands) run a
few hundred jobs spread over several seconds: each exactly once, on time, result on its row.
On Redis and on RabbitMQ (the broker fixture)."""

import datetime as dt
import json
import statistics

import pytest
from django.db.models import Count
from django.utils import timezone

from future_celery import ScheduledJob, schedule_jobs
from future_celery.beat import TICK_NAME, mode
from proj.demo.models import Execution
from tests.conftest import base_env
from tests.processes import start_beat, start_worker, wait_until

pytestmark = pytest.mark.engine

JOBS = 300
SPREAD = 8.0  # seconds
# The bound we promise here: no job starts more than this after its time (the test settings
# tick every second with a 3 s look-ahead; on-time starts come from the eta).
MAX_LATENESS = dt.timedelta(seconds=1)


def test_worker_and_beat_run_every_job_once_on_time(transactional_db, broker):
    worker = start_worker(base_env())
    beat = start_beat(base_env())
    try:
        start = timezone.now() + dt.timedelta(seconds=1)
        schedule_jobs(
            [
                {
                    "when": start + dt.timedelta(seconds=SPREAD * i / JOBS),
                    "callable": "proj.demo.jobs.record",
                    "args": [f"job-{i}"],
                }
                for i in range(JOBS)
            ]
        )
        assert wait_until(
            lambda: ScheduledJob.objects.filter(status="complete").count() == JOBS,
            timeout=SPREAD + 30,
            interval=0.5,
        ), ScheduledJob.objects.values("status").annotate(n=Count("id"))
    finally:
        beat.stop()
        worker.stop()
    assert "future_celery.tick" in beat.output or "dispatch due jobs" in beat.output

    per_label = dict(Execution.objects.values_list("label").annotate(n=Count("id")))
    assert len(per_label) == JOBS and set(per_label.values()) == {1}  # once each, none lost
    started = dict(Execution.objects.values_list("label", "started"))
    lateness = []
    for job in ScheduledJob.objects.all():
        assert job.return_value == job.args[0] and job.attempts == 1
        late = started[job.args[0]] - job.time_slot_start
        assert dt.timedelta(0) <= late <= MAX_LATENESS, (job.pk, late)
        lateness.append(late.total_seconds())
    print(
        f"lateness p50 {statistics.median(lateness) * 1000:.1f} ms, "
        f"max {max(lateness) * 1000:.1f} ms over {JOBS} jobs"
    )


def test_our_beat_scheduler_runs_the_tick_itself(transactional_db, broker, settings):
    """With `-S future_celery.beat:DatabaseScheduler` the tick runs inside beat: jobs are
    dispatched (queued) with no worker running to execute a tick task. In either mode: on
    Celery's own scheduler or on django-celery-beat's, whichever this pass installs."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    job = schedule_jobs(
        [
            {
                "when": timezone.now() - dt.timedelta(seconds=1),
                "callable": "proj.demo.jobs.record",
                "args": ["beat-only"],
                "queue": "beat-test",
            }
        ]
    )[0]
    broker.purge()
    beat = start_beat(base_env())
    try:
        # The run_job message, waiting for a worker (the row is queued just before it is sent).
        assert wait_until(lambda: broker.message_count("beat-test") == 1, 20)
    finally:
        beat.stop()
    assert ScheduledJob.objects.get(pk=job.pk).status == "queued"
    assert broker.message_count("beat-test") == 1
    assert f"on {mode().name}'s scheduler" in beat.output
    broker.purge()


@pytest.mark.celery_beat
def test_on_django_celery_beat_beat_puts_the_ticks_interval_back_to_the_setting(
    transactional_db, broker, settings
):
    """The tick's interval was changed behind the setting's back (say, the setting changed
    without a migrate): beat puts it back to FUTURE_CELERY_TICK_INTERVAL when it starts."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    slow, _ = IntervalSchedule.objects.get_or_create(every=3600, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=TICK_NAME).update(interval=slow)
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    when = timezone.now() - dt.timedelta(seconds=1)
    schedule_jobs([{"when": when, "callable": "proj.demo.jobs.record", "args": ["x"]}])
    beat = start_beat(base_env())
    try:
        assert wait_until(lambda: ScheduledJob.objects.filter(status="queued").exists(), 20)
    finally:
        beat.stop()
    assert (
        PeriodicTask.objects.get(name=TICK_NAME).interval.every
        == settings.FUTURE_CELERY_TICK_INTERVAL
    )
    broker.purge()


def test_beat_runs_the_projects_own_periodic_tasks_beside_the_tick(transactional_db, broker):
    """The project's beat_schedule runs as celery beat runs it, beside the jobs, in either mode."""
    env = base_env()
    env["TEST_BEAT_SCHEDULE"] = json.dumps(
        {"ping": {"task": "proj.demo.record_periodic", "schedule": 1.0, "args": ["periodic"]}}
    )
    worker = start_worker(env)
    beat = start_beat(env)
    try:
        job = schedule_jobs([{"when": "2s", "callable": "proj.demo.jobs.record", "args": ["job"]}])[
            0
        ]
        assert wait_until(lambda: Execution.objects.filter(label="periodic").count() >= 3, 30)
        assert wait_until(lambda: ScheduledJob.objects.get(pk=job.pk).status == "complete", 30)
    finally:
        beat.stop()
        worker.stop()
    assert "Sending due task ping (proj.demo.record_periodic)" in beat.output
    assert Execution.objects.filter(label="job").count() == 1

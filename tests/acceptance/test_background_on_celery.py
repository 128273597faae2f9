"""@background jobs on proj's real Procfile worker and beat: many calls run once each, and a
repeating job's chain runs each of its slots at most once, on its grid, to its end, while its
worker is killed and restarted (a slot whose time passed meanwhile is skipped, as
django-background-tasks skips them), at the tests' short intervals and at the product's
defaults; InvalidTaskError and DoNotRetry fail a job at once. On Redis and on RabbitMQ (the
broker fixture)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, conf, schedule_job
from proj.demo import tasks
from proj.demo.models import Execution
from tests import background_tasks as bg
from tests.conftest import base_env
from tests.faults import outcome, report
from tests.processes import start_beat, start_worker, wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def procs(broker):
    started = []
    yield started
    for process in reversed(started):
        process.stop()


def test_2000_background_calls_spread_over_10_s_run_once_each(procs, broker):
    procs += [start_worker(base_env()), start_beat(base_env())]
    scenario = f"bg-calls-{broker.kind}"
    start = timezone.now() + dt.timedelta(seconds=2)
    for i in range(2000):
        tasks.record_background(
            f"{scenario}-{i}", schedule=start + dt.timedelta(seconds=10 * i / 2000)
        )
    assert wait_until(lambda: outcome(scenario)["lost"] == 0, 90, interval=0.5), outcome(scenario)
    result = report(dict(outcome(scenario), broker=broker.kind))
    assert result["jobs"] == 2000 and result["states"] == {"complete": 2000}, result
    assert result["executions"] == 2000 and result["duplicates"] == 0, result


def chain(label: str) -> list[ScheduledJob]:
    return list(
        ScheduledJob.objects.filter(
            callable_name="proj.demo.tasks.record_background", args__0=label
        ).order_by("slot")
    )


def chain_ended(label: str) -> bool:
    """Whether the chain of ``label`` has ended: each of its jobs is complete (the last
    completion made no next job: its next slot was past repeat_until)."""
    jobs = chain(label)
    return bool(jobs) and all(job.status == "complete" for job in jobs)


def run_a_chain_through_a_worker_kill(env, label, every, slots, timeout):
    """A job repeating ``every`` seconds for ``slots`` slots; the worker is SIGKILLed after
    the second run and a new one started. Returns the chain's jobs once it has ended."""
    doomed = start_worker(env)
    beat = start_beat(env)
    started = [doomed, beat]
    try:
        start = timezone.now() + dt.timedelta(seconds=1)
        first = tasks.record_background(
            label,
            schedule=start,
            repeat=every,
            repeat_until=start + dt.timedelta(seconds=every * (slots - 1)),
        )
        assert wait_until(lambda: Execution.objects.filter(label=label).count() >= 2, 30)
        doomed.kill()  # the whole process group: main process and pool
        started.append(start_worker(env))
        assert wait_until(lambda: chain_ended(label), timeout, interval=0.5), [
            (j.slot, j.status) for j in chain(label)
        ]
    finally:
        for process in reversed(started):
            process.stop()
    jobs = chain(label)
    assert jobs[0].pk == first.pk
    return jobs


def check_the_chain(label, jobs, every, slots, broker_kind):
    runs = Execution.objects.filter(label=label).count()
    report(
        {
            "scenario": label,
            "jobs": len(jobs),
            "executions": runs,
            "duplicates": max(runs - len(jobs), 0),
            "lost": sum(1 for job in jobs if job.status != "complete"),
            "states": {"complete": sum(1 for job in jobs if job.status == "complete")},
            "broker": broker_kind,
        }
    )
    first_slot, step = jobs[0].slot, dt.timedelta(seconds=every)
    grid = [first_slot + step * n for n in range(slots)]
    # Slots of the grid, in order, each once, none past repeat_until...
    assert all(job.slot in grid for job in jobs) and len({job.slot for job in jobs}) == len(jobs)
    assert [job.slot for job in jobs] == sorted(job.slot for job in jobs)
    for previous, following in itertools.pairwise(jobs):
        # ... each the next one, or the first one still ahead when the previous one completed
        # (a late run skips the slots that passed meanwhile instead of running them).
        assert following.slot == previous.slot + step or (
            following.slot - step <= previous.execution_end
        ), (previous.slot, previous.execution_end, following.slot)
    # ... to the end: the last one is the last slot, or completed once that slot had passed
    # (its next slot ahead was then past repeat_until).
    assert jobs[-1].slot == grid[-1] or jobs[-1].execution_end > grid[-1], (
        jobs[-1].slot,
        jobs[-1].execution_end,
        grid[-1],
    )
    assert all(job.status == "complete" for job in jobs)
    assert runs == len(jobs)  # each slot's body ran (and committed) exactly once
    assert [job.repeat_of_id for job in jobs[1:]] == [job.pk for job in jobs[:-1]]


def test_a_repeating_job_runs_its_slots_at_most_once_each_through_a_worker_kill(broker):
    label = f"bg-repeat-{broker.kind}"
    jobs = run_a_chain_through_a_worker_kill(base_env(), label, every=2, slots=5, timeout=60)
    check_the_chain(label, jobs, 2, 5, broker.kind)


def test_at_the_defaults_a_repeating_job_runs_its_slots_at_most_once_through_a_worker_kill(
    product_defaults, redis_broker
):
    """Once, on Redis (the short-interval test covers both brokers)."""
    env = product_defaults()
    label = "bg-repeat-defaults"
    # The killed worker held the next slot's message: it comes back once the tick finds the
    # worker lost (HEARTBEAT_TIMEOUT, 60 s); that late job runs once, and the slots that
    # passed meanwhile are skipped (here: to past repeat_until, which ends the chain).
    timeout = conf.DEFAULTS["HEARTBEAT_TIMEOUT"] + 60
    jobs = run_a_chain_through_a_worker_kill(env, label, every=2, slots=5, timeout=timeout)
    check_the_chain(label, jobs, 2, 5, "redis")


def test_a_repeating_job_under_three_beats_runs_its_slots_at_most_once_each(broker, settings):
    """Three beats dispatch at once (and nothing right after commit): the chain's slots each
    run once, whatever the duplicate ticks."""
    settings.FUTURE_CELERY_DISPATCH_ON_COMMIT = False
    label = f"bg-three-beats-{broker.kind}"
    env = dict(base_env(), FUTURE_CELERY_DISPATCH_ON_COMMIT="0")
    started = [start_worker(env)] + [start_beat(env) for _ in range(3)]
    try:
        start = timezone.now() + dt.timedelta(seconds=2)
        tasks.record_background(
            label, schedule=start, repeat=1, repeat_until=start + dt.timedelta(seconds=5)
        )
        assert wait_until(lambda: chain_ended(label), 60, interval=0.5), [
            (j.slot, j.status) for j in chain(label)
        ]
    finally:
        for process in reversed(started):
            process.stop()
    check_the_chain(label, chain(label), 1, 6, broker.kind)


def test_invalid_task_error_and_do_not_retry_fail_a_job_at_once_on_a_worker(redis_broker):
    """Once, on Redis: the worker's failure path (task_failure) takes the one retry decision
    of lifecycle, as the in-process runners do."""
    started = [start_worker(base_env()), start_beat(base_env())]
    try:
        invalid = bg.invalid("w-invalid", schedule=0)
        given_up = schedule_job(
            timezone.now(), "tests.background_tasks.fail_for_good", args=["w-dnr"], max_attempts=5
        )
        control = bg.record("w-control", fail=True, schedule=0)  # an ordinary error: retried
        ids = [invalid.pk, given_up.pk, control.pk]

        def recorded() -> bool:
            jobs = ScheduledJob.objects.in_bulk(ids)
            return all(job.attempts >= 1 and job.status != "running" for job in jobs.values())

        assert wait_until(recorded, 30, interval=0.2), list(
            ScheduledJob.objects.filter(pk__in=ids).values_list("status", "attempts")
        )
    finally:
        for process in reversed(started):
            process.stop()
    for job in (invalid, given_up):
        job.refresh_from_db()
        assert job.status == "failed" and job.attempts == 1, (job.status, job.error)
        assert "Not retried" in job.error
    assert "NoSuchInvoice" in invalid.error and "DoNotRetry" in given_up.error
    control.refresh_from_db()
    assert control.status != "failed" and "w-control failed" in control.error  # retried

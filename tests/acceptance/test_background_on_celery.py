"""@background jobs on proj's real Procfile worker and beat: many calls run once each, and a
repeating job runs every slot of its chain exactly once while its worker is killed and
restarted, at the tests' short intervals and at the product's defaults. On Redis and on
RabbitMQ (the broker fixture)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, conf
from proj.demo import tasks
from proj.demo.models import Execution
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


def run_a_chain_through_a_worker_kill(env, label, every, slots, timeout):
    """A job repeating ``every`` seconds for ``slots`` slots; the worker is SIGKILLed after
    the second run and a new one started. Returns the chain's jobs once all have run."""
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
        assert wait_until(
            lambda: len([j for j in chain(label) if j.status == "complete"]) == slots,
            timeout,
            interval=0.5,
        ), [(j.slot, j.status) for j in chain(label)]
    finally:
        for process in reversed(started):
            process.stop()
    jobs = chain(label)
    assert jobs[0].pk == first.pk
    return jobs


def check_every_slot_ran_once(label, jobs, every, slots, broker_kind):
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
    first_slot = jobs[0].slot
    assert [job.slot for job in jobs] == [
        first_slot + dt.timedelta(seconds=every * n) for n in range(slots)
    ]  # every slot, in order, each once, none past repeat_until
    assert all(job.status == "complete" for job in jobs)
    assert runs == slots  # each slot's body ran (and committed) exactly once
    assert [job.repeat_of_id for job in jobs[1:]] == [job.pk for job in jobs[:-1]]


def test_a_repeating_job_runs_each_slot_once_through_a_worker_kill(broker):
    label = f"bg-repeat-{broker.kind}"
    jobs = run_a_chain_through_a_worker_kill(base_env(), label, every=2, slots=5, timeout=60)
    check_every_slot_ran_once(label, jobs, 2, 5, broker.kind)


def test_at_the_defaults_a_repeating_job_runs_each_slot_once_through_a_worker_kill(
    product_defaults, redis_broker
):
    """Once, on Redis (the short-interval test covers both brokers)."""
    env = product_defaults()
    label = "bg-repeat-defaults"
    # The killed worker held the next slot's message: it comes back once the tick finds the
    # worker lost (HEARTBEAT_TIMEOUT, 60 s), and the chain catches up.
    timeout = conf.DEFAULTS["HEARTBEAT_TIMEOUT"] + 60
    jobs = run_a_chain_through_a_worker_kill(env, label, every=2, slots=5, timeout=timeout)
    check_every_slot_ran_once(label, jobs, 2, 5, "redis")


def test_a_repeating_job_under_three_beats_runs_each_slot_once(broker, settings):
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
        assert wait_until(
            lambda: len([j for j in chain(label) if j.status == "complete"]) == 6, 60, interval=0.5
        ), [(j.slot, j.status) for j in chain(label)]
    finally:
        for process in reversed(started):
            process.stop()
    check_every_slot_ran_once(label, chain(label), 1, 6, broker.kind)

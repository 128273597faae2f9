"""A recurring job on proj's real Procfile worker and beats: every slot runs once while one
of two beats is SIGKILLed and restarted, at the tests' short intervals (Redis and RabbitMQ)
and at the product's defaults (Redis)."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, recurring
from future_celery.models import RecurringJob
from proj.demo.models import Execution
from tests.conftest import base_env
from tests.faults import report
from tests.processes import start_beat, start_worker, wait_until

pytestmark = [pytest.mark.engine, pytest.mark.django_db(transaction=True)]

EVERY = 2  # seconds
RUN_FOR = 30  # seconds


def run_through_a_beat_kill(env: dict[str, str], label: str) -> tuple[list[ScheduledJob], int]:
    """A job every 2 s for 30 s, two beats ticking, one SIGKILLed after 10 s and started
    again 5 s later. Returns the occurrences of the 30 s and the job's executions."""
    worker, steady, doomed = start_worker(env), start_beat(env), start_beat(env)
    started = [worker, steady, doomed]
    try:
        time.sleep(2)  # let both beats set up their schedules and tick
        job = recurring(
            label, "proj.demo.jobs.record", every=f"{EVERY} seconds", kwargs={"label": label}
        )
        start = job.next_slot
        assert start is not None
        end = start + dt.timedelta(seconds=RUN_FOR)
        wait_until(lambda: timezone.now() >= start + dt.timedelta(seconds=10), 40)
        doomed.kill()
        time.sleep(5)  # the fault's duration: one beat down for 5 s
        started.append(start_beat(env))
        assert wait_until(lambda: timezone.now() >= end, RUN_FOR + 20)
        RecurringJob.objects.filter(pk=job.pk).update(active=False)  # no slot after the window
        assert wait_until(
            lambda: (
                not ScheduledJob.objects.filter(
                    recurring=job, slot__lte=end, status__in=["scheduled", "queued", "running"]
                ).exists()
            ),
            60,
            interval=0.5,
        )
    finally:
        for process in reversed(started):
            process.stop()
    made = list(ScheduledJob.objects.filter(recurring=job, slot__lte=end).order_by("slot"))
    return made, Execution.objects.filter(label=label).count()


def check(label: str, made: list[ScheduledJob], executions: int, broker: str) -> None:
    slots = [job.slot for job in made]
    report(
        {
            "scenario": label,
            "jobs": len(made),
            "executions": executions,
            "duplicates": len(slots) - len(set(slots)) + max(executions - len(made), 0),
            "lost": sum(1 for job in made if job.status != "complete"),
            "states": {"complete": sum(1 for job in made if job.status == "complete")},
            "broker": broker,
        }
    )
    assert len(made) >= RUN_FOR // EVERY, slots  # none missed: a beat ticked throughout
    assert all(b - a == dt.timedelta(seconds=EVERY) for a, b in itertools.pairwise(slots)), slots
    assert all(job.status == "complete" for job in made), [(j.slot, j.status) for j in made]
    assert executions == len(made)  # each slot's body ran (and committed) once


def test_a_job_every_2_seconds_runs_each_slot_once_through_a_beat_kill(broker):
    label = f"recurring-{broker.kind}"
    made, executions = run_through_a_beat_kill(base_env(), label)
    check(label, made, executions, broker.kind)


def test_at_the_defaults_each_slot_runs_once_through_a_beat_kill(product_defaults, redis_broker):
    """Once, on Redis (the short-interval test covers both brokers)."""
    label = "recurring-defaults"
    made, executions = run_through_a_beat_kill(product_defaults(), label)
    check(label, made, executions, "redis")

"""Unique jobs across real processes: separate Python processes scheduling the same key at
once make exactly one job (PostgreSQL decides); a repeating @background job with a key runs
its chain on a real worker and beat, handing the key from each run to the next, never with
two pending jobs holding it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from future_celery import ScheduledJob, schedule_job
from future_celery.exceptions import JobAlreadyScheduled
from proj.demo import tasks
from proj.demo.models import Execution
from tests.conftest import base_env
from tests.processes import ROOT, start_beat, start_worker, wait_until

# Each process waits for the same start time, then schedules the key in a transaction it
# keeps open a moment, so that the others' INSERTs meet its uncommitted row.
CALLER = """
import json, sys, time
import django
django.setup()
from django.db import transaction
from future_celery import schedule_job
from future_celery.exceptions import JobAlreadyScheduled
start, index, on_conflict = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
time.sleep(max(0.0, start - time.time()))
try:
    with transaction.atomic():
        job = schedule_job('1h', 'proj.demo.jobs.say_hello', args=[index],
                           unique_key='across processes', on_conflict=on_conflict)
        time.sleep(0.5)
    print(json.dumps({'job': job.pk}))
except JobAlreadyScheduled as exc:
    print(json.dumps({'refused': exc.job_id}))
"""


def race_processes(count: int, on_conflict: str) -> list[dict]:
    env = dict(base_env(), FUTURE_CELERY_DISPATCH_ON_COMMIT="0")
    start = time.time() + 4  # after every process has set Django up
    callers = [
        subprocess.Popen(
            [sys.executable, "-c", CALLER, str(start), str(i), on_conflict],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]
    results = []
    for caller in callers:
        out, err = caller.communicate(timeout=60)
        assert caller.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("on_conflict", ["raise", "existing"])
def test_processes_scheduling_one_key_at_once_make_exactly_one_job(on_conflict):
    results = race_processes(4, on_conflict)
    [job] = ScheduledJob.objects.filter(unique_key="across processes")
    if on_conflict == "raise":
        assert results.count({"job": job.pk}) == 1, results
        assert results.count({"refused": job.pk}) == 3, results
    else:
        assert results == [{"job": job.pk}] * 4


@pytest.mark.engine
@pytest.mark.django_db(transaction=True)
def test_a_keyed_repeating_job_hands_its_key_from_run_to_run_on_a_worker(redis_broker):
    env = base_env()
    procs = [start_worker(env), start_beat(env)]
    try:
        start = timezone.now() + dt.timedelta(seconds=1)
        first = tasks.record_background(
            "keyed chain",
            schedule={"run_at": start, "unique_key": "keyed chain"},
            repeat=2,
            repeat_until=start + dt.timedelta(seconds=4),
        )
        holders: set[int] = set()
        refused: list[int | None] = []

        def chain_ended() -> bool:
            pending = list(
                ScheduledJob.objects.filter(
                    unique_key="keyed chain", status__in=ScheduledJob.PENDING_STATUSES
                ).values_list("pk", flat=True)
            )
            assert len(pending) <= 1, pending
            holders.update(pending)
            if pending and len(refused) < 20:  # another caller meanwhile: refused
                with pytest.raises(JobAlreadyScheduled) as error:
                    schedule_job("1h", "proj.demo.jobs.say_hello", unique_key="keyed chain")
                refused.append(error.value.job_id)
            return not pending

        assert wait_until(chain_ended, 60, interval=0.05)
    finally:
        for process in reversed(procs):
            process.stop()
    jobs = list(ScheduledJob.objects.filter(repeat__gt=0).order_by("slot"))
    # Three slots (a run later than its period would skip one, as @background's repeats do).
    assert len(jobs) >= 2 and jobs[0].pk == first.pk
    assert [job.status for job in jobs] == ["complete"] * len(jobs), [job.error for job in jobs]
    assert {job.unique_key for job in jobs} == {"keyed chain"}
    assert holders == {job.pk for job in jobs}  # each run held the key in its turn
    assert refused and set(refused) <= holders
    assert Execution.objects.filter(label="keyed chain").count() == len(jobs)
    # The chain has ended: the key is free.
    assert schedule_job("1h", "proj.demo.jobs.say_hello", unique_key="keyed chain").pk

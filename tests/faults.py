"""Helpers for the fault-injection scenarios: schedule labelled jobs, then count what ran."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from future_celery import ScheduledJob, schedule_jobs
from proj.demo.models import Execution

# Where report() appends the scenarios' rows: FAULTS_REPORT, else a file in the system's
# temporary directory (never the source tree). The session prints the path at its end.
REPORT = Path(
    os.environ.get("FAULTS_REPORT") or Path(tempfile.gettempdir()) / "future_celery-faults.jsonl"
)
# Whether report() wrote to REPORT in this session (conftest prints REPORT once if so).
written = False

# The demo jobs that write one Execution row labelled with their first argument, in the
# transaction of their attempt (a killed attempt's row is rolled back with it). A scenario's
# jobs are those of these callables labelled ``scenario-i``.
RECORDING_CALLABLES = (
    "proj.demo.jobs.record",
    "proj.demo.jobs.stall_first_attempt",
    "proj.demo.tasks.record_background",
)


def schedule_labelled(
    scenario: str, count: int, start: dt.datetime | None = None, spread: float = 0.0, **options
) -> list[ScheduledJob]:
    """``count`` record() jobs labelled ``scenario-i``, spread evenly over ``spread`` seconds."""
    start = start or timezone.now()
    return schedule_jobs(
        [
            {
                "when": start + dt.timedelta(seconds=spread * i / max(count, 1)),
                "callable": "proj.demo.jobs.record",
                "args": [f"{scenario}-{i}"],
                **options,
            }
            for i in range(count)
        ],
        batch_size=2000,
    )


def labelled_jobs(scenario: str) -> QuerySet[ScheduledJob]:
    """The scenario's jobs: those of a recording callable labelled ``scenario-i``."""
    return ScheduledJob.objects.filter(
        callable_name__in=RECORDING_CALLABLES, args__0__startswith=f"{scenario}-"
    )


def outcome(scenario: str) -> dict:
    """Jobs, executions, duplicates, lost and final states of a scenario's jobs, counted from
    their rows and from the Execution rows they wrote."""
    jobs = list(labelled_jobs(scenario))
    runs = collections.Counter(
        Execution.objects.filter(label__startswith=f"{scenario}-").values_list("label", flat=True)
    )
    states = collections.Counter(job.status for job in jobs)
    lost = sum(1 for job in jobs if not job.is_finished) + sum(
        1 for job in jobs if job.status == "complete" and runs[job.args[0]] == 0
    )
    return {
        "scenario": scenario,
        "jobs": len(jobs),
        "executions": sum(runs.values()),
        "duplicates": sum(n - 1 for n in runs.values() if n > 1),
        "lost": lost,
        "states": dict(sorted(states.items())),
    }


def report(result: dict) -> dict:
    """Print the scenario's row, with the broker it ran on, and append it to REPORT."""
    global written
    result.setdefault(
        "broker", "redis" if settings.CELERY_BROKER_URL.startswith("redis") else "rabbitmq"
    )
    print("FAULT", json.dumps(result))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    with REPORT.open("a") as out:
        out.write(json.dumps(result) + "\n")
    written = True
    return result

"""The in-process runner: run due jobs here and now, without Celery, as django-future did."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator

from django.db import connection
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import callables, conf, execution, front_doors, lifecycle, recurring_jobs
from .exceptions import InvalidOption
from .heartbeat import heartbeat
from .locks import runner_lock
from .models import ScheduledJob

logger = logging.getLogger(__name__)
# The in-process runners (a job's row names its worker after them: see node_name).
RUNNER = "runscheduledjobs"
PROCESS_TASKS = "process_tasks"


@dataclasses.dataclass
class RunReport:
    """What one run of due jobs did."""

    expired: int = 0
    completed: list[int] = dataclasses.field(default_factory=list)
    failed: list[int] = dataclasses.field(default_factory=list)
    # The first error, when the run stopped on it (stop_on_error).
    error: BaseException | None = None
    failed_job: ScheduledJob | None = None


def run_jobs(
    now: dt.datetime | None = None, delete_completed: bool = False, ignore_errors: bool = False
) -> RunReport:
    """Run every job due by ``now`` that no worker has started, in time order, each in its
    own transaction, as django-future did. Without ``ignore_errors`` the first failure stops
    the run and its exception is raised here, once the job's row says failed and holds the
    traceback. With it, every due job runs and the report lists what failed."""
    report = run_due(now, delete_completed=delete_completed, stop_on_error=not ignore_errors)
    if report.error is not None and not ignore_errors:
        raise report.error
    return report


def run_due(
    now: dt.datetime | None = None, delete_completed: bool = False, stop_on_error: bool = True
) -> RunReport:
    """Expire overdue jobs, then run the due ones: those still scheduled and those handed to
    Celery that no worker has started (queued). Each is claimed with the same conditional
    update as a worker's claim, so a worker that gets its message later finds it taken and
    does nothing, and a job never runs twice. Returns the report; a job's failure is
    recorded on its row and in the report, never raised. One runner at a time (the lock)."""
    report = RunReport()
    with runner_lock():
        now = now or timezone.now()
        report.expired = lifecycle.expire_overdue(now, queued_too=True)
        recurring_jobs.make_occurrences(now)
        # Fetched one at a time, so that jobs created or cancelled meanwhile are seen.
        while job := _next_due(now):
            error = _run_one(job, report, delete_completed, node_name(RUNNER))
            if error is not None and stop_on_error:
                error.add_note(
                    f"future_celery: raised by job #{job.pk} "
                    f"({job.callable_name}), recorded on its row as failed"
                )
                report.error, report.failed_job = error, job
                break
    return report


def process(
    queue: str | None = None,
    duration: float | None = None,
    sleep: float = 5.0,
    stop: threading.Event | None = None,
    announce: Callable[[str], object] = logger.info,
) -> RunReport:
    """django-background-tasks' process_tasks: run the due jobs (of ``queue`` when given) in
    priority order (FUTURE_CELERY_PRIORITY_ORDERING), and when none is due wait ``sleep``
    seconds and look again; until ``duration`` seconds have passed or ``stop`` is set (the
    job in progress finishes first). A failed job is recorded and the loop goes on.
    ``announce`` is told once the loop starts.

    Several such processes, and Celery workers, may run on one PostgreSQL database: each
    job is claimed by a conditional update, so it runs once. On SQLite, where one process
    writes at a time, a second one is refused (RunnerAlreadyActive)."""
    stop = stop or threading.Event()
    deadline = None if duration is None else time.monotonic() + duration
    report = RunReport()
    descending = _descending()
    callables.discover()  # the @background functions of the installed apps' tasks modules
    with _process_lock():
        announce(f"process_tasks: running due jobs (queue {queue or 'any'}, sleep {sleep:g}s)")
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            now = timezone.now()
            report.expired += lifecycle.expire_overdue(now, queued_too=True)
            recurring_jobs.make_occurrences(now)
            batch = _due_batch(now, queue, descending)
            for job in batch:
                if stop.is_set() or (deadline is not None and time.monotonic() >= deadline):
                    break
                _run_one(job, report, False, node_name(PROCESS_TASKS))
            if not batch:
                wait = sleep if deadline is None else min(sleep, deadline - time.monotonic())
                stop.wait(max(wait, 0))
    return report


def node_name(runner: str) -> str:
    """The worker name a job's row gets when ``runner`` (RUNNER or PROCESS_TASKS) runs it in
    this process: ``runner@host``."""
    return f"{runner}@{socket.gethostname()}"


def _run_one(
    job: ScheduledJob, report: RunReport, delete_completed: bool, worker: str
) -> BaseException | None:
    """Claim and run ``job`` as ``worker``, recording the outcome on its row and in
    ``report``; the exception it raised, if it failed."""
    if not lifecycle.start_in_process(job, worker=worker, now=timezone.now(), pid=os.getpid()):
        return None  # a Celery worker, another runner, or a cancel got there first
    try:
        with heartbeat.beating(job.pk):
            execution.execute(job, delete_completed=delete_completed)
    except Exception as error:
        logger.exception("Job #%s (%s) failed", job.pk, job.callable_name)
        lifecycle.fail(job, traceback.format_exc())
        if job.task_backend:  # a Django task: its front door reports it (see front_doors)
            front_doors.hooks(front_doors.TASK_BACKEND).failed(job)
        report.failed.append(job.pk)
        return error
    # A job may return a result that reports failure (see execution): failed, not raised.
    (report.failed if job.status == ScheduledJob.STATUS_FAILED else report.completed).append(job.pk)
    return None


def _next_due(now: dt.datetime) -> ScheduledJob | None:
    """The oldest job due by ``now`` that is scheduled or queued and has not expired (one
    probe of each status's index, not a scan of every row)."""
    candidates = [
        job
        for job in (
            ScheduledJob.objects.due(now).first(),
            ScheduledJob.objects.queued_due(now).first(),
        )
        if job
    ]
    return min(candidates, key=lambda job: (job.time_slot_start, job.pk), default=None)


# How many due jobs process_tasks reads per query; it claims them one by one, so a job
# another process takes meanwhile is skipped, and it looks again after each batch.
BATCH = 100


def _due_batch(now: dt.datetime, queue: str | None, descending: bool) -> list[ScheduledJob]:
    """Up to BATCH jobs due by ``now`` (of ``queue``), scheduled or queued, in priority order
    (no priority counts as 0), then oldest first."""
    priority = Coalesce("priority", 0)
    jobs = []
    for due in (ScheduledJob.objects.due(now), ScheduledJob.objects.queued_due(now)):
        if queue is not None:
            due = due.filter(queue=queue)
        order = priority.desc() if descending else priority.asc()
        jobs += list(due.order_by(order, "time_slot_start", "id")[:BATCH])
    jobs.sort(
        key=lambda job: (
            -(job.priority or 0) if descending else (job.priority or 0),
            job.time_slot_start,
            job.pk,
        )
    )
    return jobs[:BATCH]


def _descending() -> bool:
    ordering = conf.get("PRIORITY_ORDERING")
    if ordering not in ("ASC", "DESC"):
        raise InvalidOption(
            f"FUTURE_CELERY_PRIORITY_ORDERING must be 'ASC' or 'DESC', not {ordering!r}"
        )
    return ordering == "DESC"


@contextlib.contextmanager
def _process_lock() -> Iterator[None]:
    """On SQLite, the runner lock (one process writes at a time); elsewhere none."""
    if connection.vendor == "sqlite":
        with runner_lock():
            yield
    else:
        yield

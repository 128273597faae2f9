"""The in-process runners: run due jobs here and now, without Celery, as django-future
(run_jobs, runscheduledjobs) and django-background-tasks (process_tasks) did.

What every runner does, as the Celery side does it:
- due jobs run in priority order (FUTURE_CELERY_PRIORITY_ORDERING), then oldest first;
- a job is claimed by a conditional update of its row after locking it with SKIP LOCKED
  where the database has it, so a runner never waits on a row another transaction holds;
- running jobs whose heartbeat stopped (their runner or worker died) are taken back by the
  tick's own rule (lifecycle.recover_lost);
- whatever a job raises, SystemExit included, is recorded on its row; only
  KeyboardInterrupt and GeneratorExit go through (see JOB_ERRORS)."""

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
from collections.abc import Callable, Collection, Iterator

from django.db import DatabaseError, InterfaceError, close_old_connections, connection
from django.db.models.functions import Coalesce
from django.utils import timezone

from . import callables, conf, execution, front_doors, lifecycle, recurring_jobs
from .exceptions import InvalidOption, JobExited
from .heartbeat import heartbeat
from .locks import runner_lock
from .models import ScheduledJob

logger = logging.getLogger(__name__)
# The in-process runners (a job's row names its worker after them: see node_name).
RUNNER = "runscheduledjobs"
PROCESS_TASKS = "process_tasks"
# What process_tasks survives in one pass of its loop: the database went away (restarted,
# a dropped connection, a failover). It waits and reconnects.
DATABASE_ERRORS = (DatabaseError, InterfaceError)


@dataclasses.dataclass
class RunReport:
    """What one run of due jobs did."""

    expired: int = 0
    # Running jobs whose heartbeat had stopped, taken back (see lifecycle.recover_lost).
    recovered: int = 0
    completed: list[int] = dataclasses.field(default_factory=list)
    failed: list[int] = dataclasses.field(default_factory=list)
    # The first error, when the run stopped on it (stop_on_error).
    error: BaseException | None = None
    failed_job: ScheduledJob | None = None


def run_jobs(
    now: dt.datetime | None = None, delete_completed: bool = False, ignore_errors: bool = False
) -> RunReport:
    """Run every job due by ``now`` that no worker has started, higher priority first, then
    oldest first, each in its own transaction, as django-future did. Without
    ``ignore_errors`` the first failure stops the run and its exception is raised here, once
    the job's row says failed and holds the traceback (SystemExit and other exceptions that
    are not Exceptions come as JobExited, their cause). With it, every due job runs and the
    report lists what failed."""
    report = run_due(now, delete_completed=delete_completed, stop_on_error=not ignore_errors)
    if report.error is not None and not ignore_errors:
        if isinstance(report.error, Exception):
            raise report.error
        job = report.failed_job
        assert job is not None  # run_due sets it with the error
        raise JobExited(
            f"job #{job.pk} ({job.callable_name}) raised {report.error!r}, which is not an "
            "Exception; it is recorded on its row as failed, with its traceback"
        ) from report.error
    return report


def run_due(
    now: dt.datetime | None = None, delete_completed: bool = False, stop_on_error: bool = True
) -> RunReport:
    """Expire overdue jobs, take back running ones whose heartbeat stopped, then run the due
    ones: those still scheduled and those handed to Celery that no worker has started
    (queued). A row another transaction holds locked is left for later, not waited on. A
    worker that gets a job's message later finds it taken and does nothing, so a job never
    runs twice. Returns the report; a job's failure is recorded on its row and in the
    report, never raised. One runner at a time (the lock)."""
    report = RunReport()
    worker = node_name(RUNNER)
    with runner_lock():
        now = _maintain(now, report)
        descending = _descending()
        skipped: set[int] = set()  # rows this run could not claim: locked, or taken
        # Batch by batch, so that jobs created meanwhile (by the jobs that ran) are seen.
        while batch := _due_batch(now, None, descending, exclude=skipped):
            for job in batch:
                if not _claim(job, worker):
                    skipped.add(job.pk)
                    continue
                error = _run_claimed(job, report, delete_completed)
                if error is not None and stop_on_error:
                    error.add_note(
                        f"future_celery: raised by job #{job.pk} "
                        f"({job.callable_name}), recorded on its row as failed"
                    )
                    report.error, report.failed_job = error, job
                    return report
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
    job in progress finishes first). A failed job is recorded and the loop goes on; so does
    a pass that loses the database: it logs one warning, waits ``sleep`` seconds and
    reconnects. ``announce`` is told once the loop starts.

    Several such processes, and Celery workers, may run on one PostgreSQL database: each
    job is claimed by a conditional update, so it runs once. On SQLite, where one process
    writes at a time, a second one is refused (RunnerAlreadyActive)."""
    stop = stop or threading.Event()
    deadline = None if duration is None else time.monotonic() + duration

    def over() -> bool:
        return stop.is_set() or (deadline is not None and time.monotonic() >= deadline)

    def wait() -> None:
        stop.wait(max(sleep if deadline is None else min(sleep, deadline - time.monotonic()), 0))

    report = RunReport()
    descending = _descending()
    worker = node_name(PROCESS_TASKS)
    callables.discover()  # the @background functions of the installed apps' tasks modules
    with _process_lock():
        announce(f"process_tasks: running due jobs (queue {queue or 'any'}, sleep {sleep:g}s)")
        skipped: set[int] = set()  # rows not claimed since the last wait: locked, or taken
        outage: BaseException | None = None
        while not over():
            try:
                ran = _pass(queue, descending, skipped, report, worker, over)
            except DATABASE_ERRORS as exc:
                if outage is None:
                    _warn_outage(exc, sleep)
                outage = exc
                _drop_connections()
                wait()
                continue
            if outage is not None:
                logger.info("process_tasks: the database answers again; running due jobs")
                outage = None
            if not ran:
                skipped.clear()  # a row that was locked is tried again after the wait
                wait()
    return report


def _pass(
    queue: str | None,
    descending: bool,
    skipped: set[int],
    report: RunReport,
    worker: str,
    over: Callable[[], bool],
) -> bool:
    """One pass of process(): upkeep, then one batch of due jobs; whether a job ran."""
    now = _maintain(None, report)
    ran = False
    for job in _due_batch(now, queue, descending, exclude=skipped):
        if over():
            break
        if _claim(job, worker):
            _run_claimed(job, report, False)
            ran = True
        else:
            skipped.add(job.pk)
    return ran


def _warn_outage(exc: BaseException, sleep: float) -> None:
    logger.warning(
        "process_tasks: the database failed (%s: %s); no job runs until it answers again. "
        "Trying again every %gs: check that the database server is up and that "
        "DATABASES['default'] reaches it. A job cut off meanwhile is taken back once its "
        "heartbeat is older than FUTURE_CELERY_HEARTBEAT_TIMEOUT.",
        type(exc).__name__,
        str(exc).strip(),
        sleep,
    )


def _drop_connections() -> None:
    """Close this thread's database connection after a failure (the next query opens a
    new one), and any other that is unusable or too old."""
    try:
        connection.close()
    except DATABASE_ERRORS:
        pass  # already gone
    close_old_connections()


def node_name(runner: str) -> str:
    """The worker name a job's row gets when ``runner`` (RUNNER or PROCESS_TASKS) runs it in
    this process: ``runner@host``."""
    return f"{runner}@{socket.gethostname()}"


def _maintain(now: dt.datetime | None, report: RunReport) -> dt.datetime:
    """What a tick does besides dispatching: take back running jobs whose heartbeat stopped
    (by the clock, whatever ``now`` a caller asked for: a job is lost in real time; first,
    so that those scheduled again at once are due in this run), expire overdue jobs (queued
    ones too, which this runner would otherwise run) and make the occurrences of recurring
    jobs. Returns ``now``, by default the time after the recovery."""
    report.recovered += lifecycle.recover_lost()
    now = now or timezone.now()
    report.expired += lifecycle.expire_overdue(now, queued_too=True)
    recurring_jobs.make_occurrences(now)
    return now


def _claim(job: ScheduledJob, worker: str) -> bool:
    """Claim ``job`` as ``worker``; False if a Celery worker, another runner or a cancel got
    there first, or another transaction holds its row (it is tried later)."""
    return lifecycle.start_in_process(job, worker=worker, now=timezone.now(), pid=os.getpid())


# What a job may raise and still be recorded as failed while the runner goes on: anything
# but an interrupt of this process (Ctrl-C, a generator closed under it). SystemExit and
# asyncio.CancelledError are BaseExceptions that a job raises as its own failure.
_PASSED_THROUGH = (KeyboardInterrupt, GeneratorExit)


def _run_claimed(
    job: ScheduledJob, report: RunReport, delete_completed: bool
) -> BaseException | None:
    """Run the claimed ``job``, recording the outcome on its row and in ``report``; the
    exception it raised, if it failed."""
    try:
        with heartbeat.beating(job.pk):
            execution.execute(job, delete_completed=delete_completed)
    except _PASSED_THROUGH:
        raise  # the row stays running; its heartbeat stops and it is taken back
    except BaseException as error:
        logger.exception("Job #%s (%s) failed", job.pk, job.callable_name)
        lifecycle.fail(job, traceback.format_exc())
        if job.task_backend:  # a Django task: its front door reports it (see front_doors)
            front_doors.hooks(front_doors.TASK_BACKEND).failed(job)
        report.failed.append(job.pk)
        return error
    # A job may return a result that reports failure (see execution): failed, not raised.
    (report.failed if job.status == ScheduledJob.STATUS_FAILED else report.completed).append(job.pk)
    return None


# How many due jobs a runner reads per query; it claims them one by one, so a job another
# process takes meanwhile is skipped, and it looks again after each batch.
BATCH = 100


def _due_batch(
    now: dt.datetime, queue: str | None, descending: bool, exclude: Collection[int] = ()
) -> list[ScheduledJob]:
    """Up to BATCH jobs due by ``now`` (of ``queue``), scheduled or queued, in priority order
    (no priority counts as 0), then oldest first; none of ``exclude``. Each status is one
    range of its partial index (fc_due_idx: scheduled by time; queued jobs are the few in
    flight), sorted for the first BATCH: the cost grows with the due jobs, not the future
    ones."""
    priority = Coalesce("priority", 0)
    order = priority.desc() if descending else priority.asc()
    jobs = []
    for due in (ScheduledJob.objects.due(now), ScheduledJob.objects.queued_due(now)):
        if queue is not None:
            due = due.filter(queue=queue)
        if exclude:
            due = due.exclude(pk__in=list(exclude))
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

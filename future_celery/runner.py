"""The in-process runner: run due jobs here and now, without Celery, as django-future did."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import traceback

from django.utils import timezone

from . import execution, lifecycle
from .heartbeat import heartbeat
from .locks import runner_lock
from .models import ScheduledJob

logger = logging.getLogger(__name__)
RUNNER = "runscheduledjobs"


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
    recorded on its row and in the report, never raised."""
    report = RunReport()
    with runner_lock():
        now = now or timezone.now()
        report.expired = lifecycle.expire_overdue(now, queued_too=True)
        # Fetched one at a time, so that jobs created or cancelled meanwhile are seen.
        while job := _next_due(now):
            if not lifecycle.start_in_process(job, worker=RUNNER, now=timezone.now()):
                continue  # a Celery worker, or a cancel, got there first
            try:
                with heartbeat.beating(job.pk):
                    execution.execute(job, delete_completed=delete_completed)
            except Exception as error:
                logger.exception("Job #%s (%s) failed", job.pk, job.callable_name)
                lifecycle.fail(job, traceback.format_exc())
                report.failed.append(job.pk)
                if stop_on_error:
                    error.add_note(
                        f"future_celery: raised by job #{job.pk} "
                        f"({job.callable_name}), recorded on its row as failed"
                    )
                    report.error, report.failed_job = error, job
                    break
            else:
                report.completed.append(job.pk)
    return report


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

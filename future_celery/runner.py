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


@dataclasses.dataclass
class RunReport:
    """What one run_jobs() call did."""

    expired: int = 0
    completed: list[int] = dataclasses.field(default_factory=list)
    failed: list[int] = dataclasses.field(default_factory=list)
    # The first error, when the run stopped on it (ignore_errors=False).
    error: BaseException | None = None
    failed_job: ScheduledJob | None = None


def run_jobs(now: dt.datetime | None = None, delete_completed: bool = False,
             ignore_errors: bool = False) -> RunReport:
    """Expire overdue jobs, then run every job due by ``now`` in time order, each in its own
    transaction. Without ``ignore_errors`` the first failure stops the run (after it is
    recorded on its row) and is returned in the report."""
    report = RunReport()
    with runner_lock():
        now = now or timezone.now()
        report.expired = lifecycle.expire_overdue(now)
        # Fetched one at a time, so that jobs created or cancelled meanwhile are seen.
        while job := ScheduledJob.objects.due(now).first():
            if not lifecycle.claim(job, ScheduledJob.STATUS_SCHEDULED, worker="runscheduledjobs"):
                continue  # a Celery worker took it first
            try:
                with heartbeat.beating(job.pk):
                    execution.execute(job, delete_completed=delete_completed)
            except Exception as error:
                logger.exception("Job #%s (%s) failed", job.pk, job.callable_name)
                lifecycle.fail(job, traceback.format_exc())
                report.failed.append(job.pk)
                if not ignore_errors:
                    report.error, report.failed_job = error, job
                    break
            else:
                report.completed.append(job.pk)
    return report

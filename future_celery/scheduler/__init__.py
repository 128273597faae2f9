"""superdjango's scheduler on future_celery: recurring jobs declared in a ``scheduler.ini``
file (future_celery.scheduler.ini) or registered by apps' ``scheduler`` modules
(``schedule``), whose callbacks take ``**kwargs`` and return a ``Result``. Every job is a
RecurringJob through recurring_jobs.recurring(); each run, an ordinary ScheduledJob row.

    from future_celery.scheduler import STATUS, Result, schedule

    def cleanup(**kwargs):
        return Result(STATUS.SUCCESS, message="done")

    schedule.register("myapp", cleanup, every="sunday", at="23:30")
"""

from __future__ import annotations

import logging
from pathlib import Path

from .. import recurring_jobs
from ..exceptions import FutureCeleryError
from . import ini, registry
from .library import STATUS, Result
from .registry import autodiscover, schedule

__all__ = ("STATUS", "Result", "autodiscover", "schedule", "sync")

logger = logging.getLogger("future_celery.scheduler")


def sync(path: str | Path | None = None) -> ini.LoadReport:
    """Save the registry's jobs (after autodiscovery), then the INI file's at ``path``
    (default: FUTURE_CELERY_SCHEDULER_PATH), which win for a label both have."""
    registry.discover()
    return ini.load(path)


def _sync_at_start() -> None:
    """sync() for celery beat's start: a job that cannot be registered or a malformed file
    is logged, not fatal to beat (the other jobs go on running; those not loaded stay as
    they were last saved)."""
    try:
        registry.discover()
    except FutureCeleryError:
        logger.exception("The scheduler's registered jobs were not saved")
    try:
        ini.load()
    except FutureCeleryError:
        logger.exception("The scheduler file was not loaded")


recurring_jobs.add_loader(_sync_at_start)

"""The tick as a django-celery-beat periodic task, so admins see and tune it."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

from django.apps import apps

from . import conf

if TYPE_CHECKING:
    from celery.result import AsyncResult
    from django_celery_beat.schedulers import ModelEntry
    from kombu import Producer

logger = logging.getLogger(__name__)

TICK_TASK = "future_celery.tick"
TICK_NAME = "future_celery: dispatch due jobs"


def register_tick(using: str = "default") -> None:
    """Create or update the periodic task that runs the tick every FUTURE_CELERY_TICK_INTERVAL
    seconds. Whether it is enabled is the admin's to decide; the interval follows the setting."""
    if not apps.is_installed("django_celery_beat"):
        return
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    seconds = max(1, round(conf.get("TICK_INTERVAL")))
    schedule, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    task, created = PeriodicTask.objects.using(using).get_or_create(
        name=TICK_NAME,
        defaults={
            "task": TICK_TASK,
            "interval": schedule,
            "expire_seconds": seconds * 2,
            "description": "Expires overdue jobs, takes back jobs of lost workers, and "
            "hands the jobs due soon to Celery (future_celery).",
        },
    )
    if not created and (task.interval_id != schedule.pk or task.task != TICK_TASK):
        task.interval, task.task, task.expire_seconds = schedule, TICK_TASK, seconds * 2
        task.save(update_fields=["interval", "task", "expire_seconds"])


@functools.cache
def scheduler_class() -> type:
    """django-celery-beat's DatabaseScheduler, running future_celery's tick inside the beat
    process instead of sending it to a worker. The worker's pool then runs only jobs (the
    tick would hold one pool process while it publishes), and a tick never waits in a queue
    behind a burst of jobs. Every other periodic task is sent to workers as usual.

    Use it with ``celery -A proj beat -S future_celery.beat:DatabaseScheduler``."""
    from django_celery_beat.schedulers import DatabaseScheduler as Base

    from . import recurring_jobs
    from .db import reconnecting
    from .dispatch import tick

    class DatabaseScheduler(Base):
        def setup_schedule(self) -> None:
            # The tick's interval follows FUTURE_CELERY_TICK_INTERVAL from the start of beat,
            # even if the setting changed without a migrate since.
            reconnecting(register_tick)()
            # The recurring jobs of @periodic, the scheduler's registry and its INI file.
            reconnecting(recurring_jobs.sync_all)()
            super().setup_schedule()

        def install_default_entries(self, data: Any) -> None:
            # django-celery-beat adds celery.backend_cleanup whenever result_expires is set
            # (it is by default), even with no result backend to clean: not then.
            if self.app.conf.result_backend:
                super().install_default_entries(data)

        def apply_entry(self, entry: ModelEntry, producer: Producer | None = None) -> None:
            if entry.task != TICK_TASK:
                super().apply_entry(entry, producer=producer)
                return
            # Not Celery's "Sending due task": the tick is not sent, it runs here, in beat.
            logger.info("Scheduler: running due task %s (%s) in beat", entry.name, entry.task)
            try:
                self.apply_async(entry, producer=producer, advance=False)
            except Exception:
                logger.exception("The future_celery tick failed; the next one tries again")

        def apply_async(
            self,
            entry: ModelEntry,
            producer: Producer | None = None,
            advance: bool = True,
            **kwargs: Any,
        ) -> AsyncResult[Any] | None:
            if entry.task != TICK_TASK:
                return super().apply_async(entry, producer=producer, advance=advance, **kwargs)
            entry = self.reserve(entry) if advance else entry
            reconnecting(tick)()
            return None

    # Named as it is imported (beat's banner shows it), not scheduler_class.<locals>.
    DatabaseScheduler.__module__ = __name__
    DatabaseScheduler.__qualname__ = "DatabaseScheduler"
    return DatabaseScheduler


def __getattr__(name: str) -> type:
    # Resolved on first use: django_celery_beat's scheduler imports models, and this module
    # is imported while Django loads.
    if name == "DatabaseScheduler":
        return scheduler_class()
    raise AttributeError(name)

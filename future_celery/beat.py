"""The tick in celery beat: ``celery -A proj beat -S future_celery`` (the entry point) or
``-S future_celery.beat:DatabaseScheduler``. Beat runs the tick itself, in its own process,
every FUTURE_CELERY_TICK_INTERVAL seconds, and sends every other periodic task to workers as
usual. Which scheduler that class stands on depends on what the project installs:

- with django-celery-beat in INSTALLED_APPS (``pip install "future_celery[celery-beat]"``):
  its ``DatabaseScheduler``. The tick is a ``PeriodicTask`` row its admin shows (enable it,
  watch its last run), beside the project's own periodic tasks in its tables.
- without it (its releases so far stop before Django 6.1): Celery's own
  ``PersistentScheduler``. The tick is an entry of the schedule, and the project's
  ``beat_schedule`` runs as plain ``celery beat`` runs it (its state in the ``--schedule``
  file).

``mode()`` says which, and why; the system check future_celery.I001 shows it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from typing import TYPE_CHECKING, Any

from django.apps import apps

from . import conf

if TYPE_CHECKING:
    from celery.beat import ScheduleEntry
    from celery.result import AsyncResult
    from kombu import Producer

logger = logging.getLogger(__name__)

TICK_TASK = "future_celery.tick"
TICK_NAME = "future_celery: dispatch due jobs"
TICK_DESCRIPTION = (
    "Expires overdue jobs, takes back jobs of lost workers, and hands the jobs due soon to "
    "Celery (future_celery)."
)

DJANGO_CELERY_BEAT = "django-celery-beat"
CELERY = "celery"


@dataclasses.dataclass(frozen=True)
class Mode:
    """Which scheduler beat stands on (DJANGO_CELERY_BEAT or CELERY) and why."""

    name: str
    why: str


def mode() -> Mode:
    if apps.is_installed("django_celery_beat"):
        return Mode(
            DJANGO_CELERY_BEAT,
            "django_celery_beat is in INSTALLED_APPS: the tick is the periodic task "
            f"{TICK_NAME!r} in its tables and admin, beside the project's own.",
        )
    from importlib.util import find_spec

    why = (
        "django-celery-beat is installed but django_celery_beat is not in INSTALLED_APPS"
        if find_spec("django_celery_beat")
        else "django-celery-beat is not installed"
    )
    return Mode(
        CELERY,
        f"{why}: the tick runs every FUTURE_CELERY_TICK_INTERVAL seconds on Celery's own "
        "scheduler, and the project's beat_schedule runs as plain celery beat runs it.",
    )


def tick_seconds() -> float:
    return max(1.0, float(conf.get("TICK_INTERVAL")))


def register_tick(using: str = "default") -> None:
    """With django-celery-beat: create or update the periodic task that runs the tick every
    FUTURE_CELERY_TICK_INTERVAL seconds. Whether it is enabled is the admin's to decide; the
    interval follows the setting. Without it, nothing (the scheduler holds the tick)."""
    if not apps.is_installed("django_celery_beat"):
        return
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    seconds = round(tick_seconds())
    schedule, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    task, created = PeriodicTask.objects.using(using).get_or_create(
        name=TICK_NAME,
        defaults={
            "task": TICK_TASK,
            "interval": schedule,
            "expire_seconds": seconds * 2,
            "description": TICK_DESCRIPTION,
        },
    )
    if not created and (task.interval_id != schedule.pk or task.task != TICK_TASK):
        task.interval, task.task, task.expire_seconds = schedule, TICK_TASK, seconds * 2
        task.save(update_fields=["interval", "task", "expire_seconds"])


class TickInBeat:
    """What both schedulers add to their base: the tick's entry runs here, in beat, instead
    of being sent to a worker. The worker's pool then runs only jobs (the tick would hold one
    pool process while it publishes), and a tick never waits in a queue behind a burst of
    jobs."""

    app: Any

    def apply_entry(self, entry: ScheduleEntry, producer: Producer | None = None) -> None:
        if entry.task != TICK_TASK:
            super().apply_entry(entry, producer=producer)  # type: ignore[misc]
            return
        # Not Celery's "Sending due task": the tick is not sent, it runs here, in beat.
        logger.info("Scheduler: running due task %s (%s) in beat", entry.name, entry.task)
        try:
            self.apply_async(entry, producer=producer, advance=False)
        except Exception:
            logger.exception("The future_celery tick failed; the next one tries again")

    def apply_async(
        self,
        entry: ScheduleEntry,
        producer: Producer | None = None,
        advance: bool = True,
        **kwargs: Any,
    ) -> AsyncResult[Any] | None:
        if entry.task != TICK_TASK:
            return super().apply_async(  # type: ignore[misc]
                entry, producer=producer, advance=advance, **kwargs
            )
        from .db import reconnecting
        from .dispatch import tick

        entry = self.reserve(entry) if advance else entry  # type: ignore[attr-defined]
        reconnecting(tick)()
        return None

    def install_default_entries(self, data: Any) -> None:
        # Celery adds celery.backend_cleanup whenever result_expires is set (it is by
        # default), even with no result backend to clean: not then.
        if self.app.conf.result_backend:
            super().install_default_entries(data)  # type: ignore[misc]


def _start() -> None:
    """What both schedulers do first: say which they are, and save the recurring jobs of
    @periodic, the scheduler's registry and its INI file."""
    from . import recurring_jobs
    from .db import reconnecting

    current = mode()
    logger.info(
        "future_celery: the tick runs in beat every %g s on %s's scheduler (%s)",
        tick_seconds(),
        current.name,
        current.why,
    )
    reconnecting(recurring_jobs.sync_all)()


def scheduler_on_django_celery_beat() -> type:
    from django_celery_beat.schedulers import DatabaseScheduler as Base

    from .db import reconnecting

    class DatabaseScheduler(TickInBeat, Base):
        """django-celery-beat's DatabaseScheduler, running the tick in beat."""

        def setup_schedule(self) -> None:
            # The tick's interval follows FUTURE_CELERY_TICK_INTERVAL from the start of beat,
            # even if the setting changed without a migrate since.
            reconnecting(register_tick)()
            _start()
            super().setup_schedule()

    return DatabaseScheduler


def scheduler_on_celery() -> type:
    from celery.beat import PersistentScheduler

    class DatabaseScheduler(TickInBeat, PersistentScheduler):
        """Celery's own scheduler (the schedule in the --schedule file), with the tick as one
        more entry beside the project's beat_schedule, every FUTURE_CELERY_TICK_INTERVAL
        seconds. It keeps the name of the django-celery-beat one: the jobs' rows are in the
        database either way."""

        def setup_schedule(self) -> None:
            _start()
            super().setup_schedule()

        def merge_inplace(self, b: Any) -> None:
            # Celery merges the project's beat_schedule into the stored schedule (and drops
            # stored entries it no longer names): the tick is one of the project's entries.
            seconds = tick_seconds()
            tick_entry: dict[str, Any] = {
                "task": TICK_TASK,
                "schedule": dt.timedelta(seconds=seconds),
                "options": {"expires": seconds * 2},
            }
            super().merge_inplace({**b, TICK_NAME: tick_entry})  # type: ignore[dict-item]

    return DatabaseScheduler


@functools.cache
def scheduler_class() -> type:
    """The scheduler for this project's mode(), resolved once per process."""
    cls = (
        scheduler_on_django_celery_beat()
        if mode().name == DJANGO_CELERY_BEAT
        else scheduler_on_celery()
    )
    # Named as it is imported (beat's banner shows it), not scheduler_on_celery.<locals>.
    cls.__module__ = __name__
    cls.__qualname__ = "DatabaseScheduler"
    return cls


def __getattr__(name: str) -> type:
    # Resolved on first use: django_celery_beat's scheduler imports models, and this module
    # is imported while Django loads.
    if name == "DatabaseScheduler":
        return scheduler_class()
    raise AttributeError(name)

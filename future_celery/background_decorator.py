"""django-background-tasks' front door: ``@background``. Calling a decorated function
schedules a job (an ordinary ScheduledJob row, run by the same tick, workers and runners as
any) instead of running its body; ``fn.now()`` runs the body here and now.

Imported as ``from future_celery import background``; the repeat constants are attributes
of the decorator too (``background.DAILY``), as they were of django-background-tasks' Task."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, overload

from django.db import models

from . import callables, options, scheduling
from .exceptions import InvalidOption, InvalidTimeSpec, WrongOptionType
from .models import ScheduledJob

# Repeat intervals, in seconds (django-background-tasks' Task constants).
NEVER = 0
HOURLY = 3600
DAILY = 24 * HOURLY
WEEKLY = 7 * DAILY
EVERY_2_WEEKS = 2 * WEEKLY
EVERY_4_WEEKS = 4 * WEEKLY
REPEATS = {
    "NEVER": NEVER,
    "HOURLY": HOURLY,
    "DAILY": DAILY,
    "WEEKLY": WEEKLY,
    "EVERY_2_WEEKS": EVERY_2_WEEKS,
    "EVERY_4_WEEKS": EVERY_4_WEEKS,
}

# "Not given": None means something of its own for some options (repeat_until=None: forever).
_UNSET: Any = object()


class BackgroundTask:
    """A function decorated with @background. Calling it schedules a job and returns it."""

    def __init__(
        self,
        func: Callable[..., Any],
        name: str | None,
        schedule: Any,
        queue: str | None,
        remove_existing_tasks: bool,
    ) -> None:
        if not callable(func):
            raise WrongOptionType(f"@background decorates a function, not {func!r}")
        functools.update_wrapper(self, func)
        self.task_function = func
        self.name = name or callables.path_of_decorated(func)
        self.schedule = schedule
        self.queue = queue
        self.remove_existing_tasks = remove_existing_tasks
        callables.register(self.name, func)

    def __call__(
        self,
        *args: Any,
        schedule: Any = _UNSET,
        repeat: int | float | dt.timedelta | None = None,
        repeat_until: dt.datetime | None = None,
        verbose_name: str | None = None,
        creator: models.Model | None = None,
        priority: int | None = None,
        queue: str | None = _UNSET,
        **kwargs: Any,
    ) -> ScheduledJob:
        """Schedule the body to run with these arguments; the job. The keywords above are
        django-background-tasks' own and are not passed to the function."""
        return scheduling.schedule_background(
            self.name,
            args,
            kwargs,
            when=to_when(self.schedule if schedule is _UNSET else schedule),
            repeat=repeat_seconds(repeat),
            repeat_until=repeat_until,
            verbose_name=verbose_name or "",
            creator=creator,
            priority=priority,
            queue=self.queue if queue is _UNSET else queue,
            remove_existing=self.remove_existing_tasks,
        )

    def now(self, *args: Any, **kwargs: Any) -> Any:
        """Run the body synchronously, here, and return what it returns."""
        return self.task_function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<background task {self.name}>"


@overload
def background(func: Callable[..., Any], /) -> BackgroundTask: ...


@overload
def background(
    *,
    schedule: Any = 0,
    queue: str | None = None,
    name: str | None = None,
    remove_existing_tasks: bool = False,
) -> Callable[[Callable[..., Any]], BackgroundTask]: ...


def background(
    func: Callable[..., Any] | None = None,
    /,
    *,
    schedule: Any = 0,
    queue: str | None = None,
    name: str | None = None,
    remove_existing_tasks: bool = False,
) -> BackgroundTask | Callable[[Callable[..., Any]], BackgroundTask]:
    """``@background`` or ``@background(schedule=60, queue='q', name=None,
    remove_existing_tasks=False)``: calls of the function schedule a job, ``schedule``
    seconds (or a timedelta, a datetime, an offset string such as '5m') from the call."""
    to_when(schedule)  # a bad default fails at decoration, not at the first call
    if name is not None and (not isinstance(name, str) or not name):
        raise WrongOptionType(f"name must be a non-empty string, not {name!r}")

    def decorate(target: Callable[..., Any]) -> BackgroundTask:
        return BackgroundTask(target, name, schedule, queue, remove_existing_tasks)

    return decorate(func) if func is not None else decorate


for _constant, _seconds in REPEATS.items():
    setattr(background, _constant, _seconds)


def to_when(schedule: Any) -> Any:
    """What schedule_job takes for django-background-tasks' ``schedule``: seconds (int or
    float) from now, a timedelta, an aware or naive datetime, or an offset string."""
    if isinstance(schedule, bool):
        raise WrongOptionType(
            f"schedule must be seconds, a timedelta or a datetime, not {schedule!r}"
        )
    if isinstance(schedule, int | float):
        try:
            return dt.timedelta(seconds=schedule)
        except (OverflowError, ValueError):  # past timedelta's 999,999,999 days, or NaN
            raise InvalidTimeSpec(
                f"schedule must be a finite number of seconds within 999,999,999 days, not "
                f"{schedule!r}"
            ) from None
    if isinstance(schedule, dt.datetime | dt.timedelta | str):
        return schedule
    raise WrongOptionType(
        f"schedule must be seconds, a timedelta, a datetime or an offset string such as "
        f"'5m', not {type(schedule).__name__}"
    )


def repeat_seconds(repeat: int | float | dt.timedelta | None) -> int:
    """A repeat interval in whole seconds (0: never)."""
    if repeat is None:
        return NEVER
    if isinstance(repeat, dt.timedelta):
        repeat = repeat.total_seconds()
    if isinstance(repeat, bool) or not isinstance(repeat, int | float):
        raise WrongOptionType(
            f"repeat must be a number of seconds (or a timedelta), not {type(repeat).__name__}"
        )
    if not (repeat == 0 or 1 <= repeat <= options.MAX_INT):  # NaN fails both
        raise InvalidOption(
            f"repeat must be 0 (never) or from 1 to {options.MAX_INT:,} seconds, not {repeat!r}"
        )
    return int(repeat)

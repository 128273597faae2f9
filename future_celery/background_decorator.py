"""django-background-tasks' front door: ``@background``. Calling a decorated function
schedules a job (an ordinary ScheduledJob row, run by the same tick, workers and runners as
any) instead of running its body; ``fn.now()`` runs the body here and now.

Imported as ``from future_celery import background``; the repeat constants are attributes
of the decorator too (``background.DAILY``), as they were of django-background-tasks' Task."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any, overload

from django.db import models

from . import callables, options, scheduling
from .exceptions import ArgumentNotSerializable, InvalidOption, InvalidTimeSpec, WrongOptionType
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

# django-background-tasks' priorities are any integer, 0 by default, negative ones running
# after it (with its default "DESC" ordering). A job's priority column (and the broker) holds
# 0 to 255, so this door stores priority + PRIORITY_OFFSET, clamped to that range: -128 to 127
# keep their order exactly (0 is stored as 128), lower ones run with -128, higher ones with 127.
PRIORITY_OFFSET = 128
_PRIORITY_MIN, _PRIORITY_MAX = -PRIORITY_OFFSET, 255 - PRIORITY_OFFSET

# The keys of django-background-tasks' schedule dict, and its "action" that means "just
# schedule it" (TaskSchedule.SCHEDULE); its other actions are not taken here.
_SCHEDULE_KEYS = frozenset({"run_at", "priority", "action", "unique_key", "on_conflict"})
_ACTION_SCHEDULE = 0


def background_priority(value: object) -> int:
    """The row priority (0-255) of django-background-tasks' priority ``value`` (any integer,
    higher first): ``value`` + 128, clamped to 0..255, so that the order between priorities
    is kept (see PRIORITY_OFFSET)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongOptionType(f"priority must be a whole number, not {value!r}")
    return min(max(value, _PRIORITY_MIN), _PRIORITY_MAX) + PRIORITY_OFFSET


@dataclasses.dataclass(frozen=True)
class Schedule:
    """django-background-tasks' ``schedule``, read: when (as schedule_job takes it) and
    priority, each None where it was not given (the decorator's default then applies)."""

    run_at: Any = None
    priority: int | None = None
    # Ours, not django-background-tasks': see schedule_job's unique_key and on_conflict.
    unique_key: str | None = None
    on_conflict: str | None = None

    @classmethod
    def of(cls, schedule: Any) -> Schedule:
        """``schedule`` as django-background-tasks takes it: None (not given), seconds, a
        timedelta, a datetime (or an offset string such as '5m'), or a dict with the keys
        ``run_at`` and ``priority`` (either may be left out)."""
        if schedule is None:
            return cls()
        if not isinstance(schedule, dict):
            return cls(run_at=to_when(schedule))
        unknown = set(schedule) - _SCHEDULE_KEYS
        if unknown:
            raise InvalidOption(
                f"schedule takes the keys run_at and priority (and unique_key, on_conflict), "
                f"not {sorted(map(str, unknown))}"
            )
        action = schedule.get("action")
        if action not in (None, _ACTION_SCHEDULE):
            raise InvalidOption(
                f"schedule's action {action!r} (django-background-tasks' RESCHEDULE_EXISTING or "
                "CHECK_EXISTING) is not supported: use remove_existing_tasks=True to replace "
                "the pending jobs of the same arguments"
            )
        run_at = schedule.get("run_at")
        priority = schedule.get("priority")
        return cls(
            run_at=None if run_at is None else to_when(run_at),
            priority=None if priority is None else background_priority(priority),
            unique_key=options.unique_key(schedule.get("unique_key")),
            on_conflict=schedule.get("on_conflict"),
        )

    def merged(self, default: Schedule) -> Schedule:
        """This schedule, with ``default``'s value where this one has none."""
        return Schedule(
            run_at=default.run_at if self.run_at is None else self.run_at,
            priority=default.priority if self.priority is None else self.priority,
            unique_key=default.unique_key if self.unique_key is None else self.unique_key,
            on_conflict=default.on_conflict if self.on_conflict is None else self.on_conflict,
        )


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
        self.schedule = Schedule.of(schedule)
        self.queue = queue
        self.remove_existing_tasks = _flag("remove_existing_tasks", remove_existing_tasks)
        # A name given again names the newest function, as django-background-tasks' did (the
        # jobs already saved under it run that one too).
        callables.register(self.name, func, replace=name is not None)

    def __call__(
        self,
        *args: Any,
        schedule: Any = None,
        repeat: int | float | dt.timedelta | None = None,
        repeat_until: dt.datetime | None = None,
        verbose_name: str | None = None,
        creator: models.Model | None = None,
        priority: int | None = None,
        queue: str | None = _UNSET,
        remove_existing_tasks: bool | None = None,
        **kwargs: Any,
    ) -> ScheduledJob:
        """Schedule the body to run with these arguments; the job. The keywords above are
        django-background-tasks' own and are not passed to the function. ``schedule`` (None:
        the decorator's) and ``remove_existing_tasks`` (None: the decorator's) are merged
        with the decorator's; ``priority`` is django-background-tasks' (any integer, see
        background_priority), and wins over the schedule's."""
        merged = Schedule.of(schedule).merged(self.schedule)
        if priority is not None:
            merged = dataclasses.replace(merged, priority=background_priority(priority))
        if remove_existing_tasks is None:
            remove_existing_tasks = self.remove_existing_tasks
        job = scheduling.schedule_background(
            self.name,
            _json_keys(args, "args"),
            _json_keys(kwargs, "kwargs"),
            when=dt.timedelta(0) if merged.run_at is None else merged.run_at,
            repeat=repeat_seconds(repeat),
            repeat_until=repeat_until,
            verbose_name=verbose_name or "",
            creator=creator,
            priority=background_priority(0) if merged.priority is None else merged.priority,
            queue=self.queue if queue is _UNSET else queue,
            remove_existing=_flag("remove_existing_tasks", remove_existing_tasks),
            unique_key=merged.unique_key,
            on_conflict=merged.on_conflict or "raise",
        )
        # str(job) is its verbose name, else its function's name, as a Task's was.
        job.shown_as_task = True
        return job

    def now(self, *args: Any, **kwargs: Any) -> Any:
        """Run the body synchronously, here, and return what it returns."""
        return self.task_function(*args, **kwargs)

    def __str__(self) -> str:
        return f"TaskProxy({self.name})"  # django-background-tasks' TaskProxy's

    def __repr__(self) -> str:
        return f"<background task {self.name}>"


@overload
def background(func: Callable[..., Any], /) -> BackgroundTask: ...


@overload
def background(
    *,
    schedule: Any = None,
    queue: str | None = None,
    name: str | None = None,
    remove_existing_tasks: bool = False,
) -> Callable[[Callable[..., Any]], BackgroundTask]: ...


def background(
    func: Callable[..., Any] | None = None,
    /,
    *,
    schedule: Any = None,
    queue: str | None = None,
    name: str | None = None,
    remove_existing_tasks: bool = False,
) -> BackgroundTask | Callable[[Callable[..., Any]], BackgroundTask]:
    """``@background`` or ``@background(schedule=60, queue='q', name=None,
    remove_existing_tasks=False)``: calls of the function schedule a job, ``schedule``
    seconds (or a timedelta, a datetime, an offset string such as '5m') from the call, or
    as a dict ``{'run_at': ..., 'priority': ...}`` (None: now, priority 0)."""
    Schedule.of(schedule)  # a bad default fails at decoration, not at the first call
    _flag("remove_existing_tasks", remove_existing_tasks)
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


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise WrongOptionType(f"{name} must be True or False, not {value!r}")
    return value


def _json_key(key: object) -> object:
    """A dict key as JSON writes it (django-background-tasks stored its arguments with
    json.dumps): numbers, booleans and None become strings; a str stays; anything else is
    left for the encoder to refuse."""
    if isinstance(key, str) or not (key is None or isinstance(key, int | float)):
        return key
    return json.dumps(key)  # 1 -> "1", 1.5 -> "1.5", True -> "true", None -> "null"


def _json_keys(value: Any, path: str) -> Any:
    """``value`` with the keys of its dicts (at any depth of dicts, lists and tuples) made
    strings as JSON would (see _json_key): what the function gets back, as it did from
    django-background-tasks. Two keys that become one string raise ArgumentNotSerializable."""
    if isinstance(value, dict):
        converted: dict[Any, Any] = {}
        originals: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = _json_key(key)
            if new_key in converted:
                raise ArgumentNotSerializable(
                    f"{path} cannot be stored as JSON: its keys {originals[new_key]!r} and "
                    f"{key!r} would both be the key {json.dumps(new_key)}"
                )
            originals[new_key] = key
            converted[new_key] = _json_keys(item, f"{path}[{key!r}]")
        return converted
    if isinstance(value, list | tuple):
        items = [_json_keys(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return tuple(items) if isinstance(value, tuple) else items
    return value


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
